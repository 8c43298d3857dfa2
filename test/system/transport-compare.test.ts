// System test (root): compareTrees finds nothing between a tree and its `cp -a` copy, and finds each kind of change.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { compareTrees } from '../helpers/compare-trees.js';

let work = '';
let info: ImageServerInfo;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'si-compare-'));
  info = await makeImageServer(path.join(work, 'server'));
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

function copyOfImage(name: string): string {
  const dir = path.join(work, name);
  execFileSync('cp', ['-a', info.imageDir, dir]);
  return dir;
}

const sh = (argv: string[]) => execFileSync(argv[0]!, argv.slice(1));
const T = 1_600_000_000;

describe('compareTrees', () => {
  it('finds a cp -a copy identical, and the fixture has what it promises', async () => {
    const copy = copyOfImage('same');
    expect(await compareTrees(info.imageDir, copy)).toEqual([]);
    const img = (p: string) => path.join(info.imageDir, p);
    expect(fs.statSync(img('bin/suid-tool')).mode & 0o7777).toBe(0o4755);
    expect(fs.statSync(img('tmp')).mode & 0o7777).toBe(0o1777);
    expect(fs.statSync(img('usr/share/doc/readme')).ino).toBe(fs.statSync(img('usr/share/doc/readme.hardlink')).ino);
    expect(fs.statSync(img('var/lib/sparse.img')).blocks * 512).toBeLessThan(1024 * 1024);
    expect(fs.statSync(img('var/lib/big.bin')).size).toBe(5 * 1024 * 1024);
    expect(fs.lstatSync(img('dev/fixture-char')).isCharacterDevice()).toBe(true);
    expect(fs.readdirSync(img('home/user')).some((n) => n.includes('\n') && n.includes('ü'))).toBe(true);
    expect(info.hasShell ? fs.existsSync(img('bin/sh')) : true).toBe(true);
  });

  const cases: Array<{ name: string; change: (d: string) => void; expect: RegExp }> = [
    { name: 'mode', change: (d) => fs.chmodSync(path.join(d, 'etc/shadow'), 0o644), expect: /^etc\/shadow: mode 0600 != 0644$/ },
    { name: 'setuid bit', change: (d) => fs.chmodSync(path.join(d, 'bin/suid-tool'), 0o755), expect: /^bin\/suid-tool: mode 4755 != 0755$/ },
    { name: 'sticky bit', change: (d) => fs.chmodSync(path.join(d, 'tmp'), 0o777), expect: /^tmp: mode 1777 != 0777$/ },
    { name: 'owner', change: (d) => fs.lchownSync(path.join(d, 'home/user/notes.txt'), 0, 4343), expect: /^home\/user\/notes\.txt: uid 4242 != 0$/ },
    { name: 'group of a symlink', change: (d) => fs.lchownSync(path.join(d, 'etc/dangling'), 4242, 0), expect: /^etc\/dangling: gid 4343 != 0$/ },
    { name: 'xattr', change: (d) => sh(['setfattr', '-n', 'user.si_test', '-v', 'other', path.join(d, 'etc/xattr-file')]), expect: /^etc\/xattr-file: xattrs user\.si_test=0x/ },
    // Removing the entry also recomputes the ACL mask, which is the group bits of the mode: both differ.
    { name: 'ACL', change: (d) => sh(['setfacl', '-x', 'u:4242', path.join(d, 'etc/acl-file')]), expect: /^etc\/acl-file: (acl .*user:4242:rw-|mode 0660 != 0640$)/ },
    {
      name: 'symlink target',
      change: (d) => {
        fs.unlinkSync(path.join(d, 'usr/lib/link-rel'));
        fs.symlinkSync('../share/doc/other', path.join(d, 'usr/lib/link-rel'));
      },
      expect: /^usr\/lib\/link-rel: symlink target \.\.\/share\/doc\/readme != \.\.\/share\/doc\/other$/,
    },
    {
      name: 'broken hard link',
      change: (d) => {
        const p = path.join(d, 'usr/share/doc/readme.hardlink');
        fs.unlinkSync(p);
        sh(['cp', '-a', path.join(d, 'usr/share/doc/readme'), p]);
      },
      expect: /^usr\/share\/doc\/readme(\.hardlink)?: hard links /,
    },
    {
      name: 'device number',
      change: (d) => {
        const p = path.join(d, 'dev/fixture-block');
        fs.unlinkSync(p);
        sh(['mknod', '-m', '660', p, 'b', '7', '201']);
        fs.lchownSync(p, 0, 6);
        fs.utimesSync(p, T, T);
      },
      expect: /^dev\/fixture-block: device /,
    },
    {
      name: 'content with the same size and time',
      change: (d) => {
        const p = path.join(d, 'etc/motd');
        fs.writeFileSync(p, 'IMAGE motd\n');
        fs.utimesSync(p, T, T);
      },
      expect: /^etc\/motd: content differs$/,
    },
    { name: 'mtime', change: (d) => fs.utimesSync(path.join(d, 'etc/hostname'), T, T), expect: /^etc\/hostname: mtime 1500000000 != 1600000000$/ },
    {
      name: 'sparse file filled in',
      change: (d) => {
        const p = path.join(d, 'var/lib/sparse.img');
        sh(['cp', '--sparse=never', '--preserve=all', p, p + '.full']);
        fs.renameSync(p + '.full', p);
      },
      expect: /^var\/lib\/sparse\.img: not sparse/,
    },
    { name: 'missing entry', change: (d) => fs.unlinkSync(path.join(d, 'run/fixture.fifo')), expect: /^run\/fixture\.fifo: missing \(fifo\)$/ },
    { name: 'extra entry', change: (d) => fs.writeFileSync(path.join(d, 'etc/extra'), ''), expect: /^etc\/extra: extra \(file\)$/ },
  ];

  for (const c of cases) {
    it(`detects a changed ${c.name}`, async () => {
      const copy = copyOfImage(c.name.replace(/\W+/g, '-'));
      c.change(copy);
      const diffs = await compareTrees(info.imageDir, copy);
      expect(diffs.some((d) => c.expect.test(d)), diffs.join('\n')).toBe(true);
      // Directory mtimes move when entries are added or removed: everything else must be unchanged.
      expect(diffs.filter((d) => !c.expect.test(d) && !/: mtime \d+ != \d+$/.test(d))).toEqual([]);
    });
  }

  it('skips ignored paths and their subtrees', async () => {
    const copy = copyOfImage('ignored');
    fs.rmSync(path.join(copy, 'lost+found'), { recursive: true });
    fs.writeFileSync(path.join(copy, 'proc/cpuinfo'), 'changed\n');
    fs.utimesSync(copy, T, T); // removing lost+found touched the root directory
    expect(await compareTrees(info.imageDir, copy, { ignore: ['lost+found', 'proc/cpuinfo'] })).toEqual([]);
  });
});
