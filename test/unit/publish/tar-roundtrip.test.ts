// The publish tar writer against the agent's own extractor: a tree packed (plain and through zstd) and extracted back is
// the same tree (owners, modes, mtimes with nanoseconds, links, hard links, sparse holes, devices, FIFOs, xattrs, ACLs);
// the same tree packs to the same bytes twice. Owners, devices and trusted.* need root: without it those cases say so.

import { execFileSync } from 'node:child_process';
import { createReadStream, closeSync, linkSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync, ftruncateSync, chmodSync, lchownSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunner } from '../../../agent/exec/runner.js';
import { extractTar } from '../../../agent/transport/tar/extract.js';
import { TarParser } from '../../../agent/transport/tar/parse.js';
import { packTree } from '../../../agent/publish/tar-pack.js';
import { packArtefact } from '../../../agent/publish/artefact-pack.js';
import { imageExclude, listTree } from '../../../agent/publish/tree-list.js';
import { readTreeAttrs } from '../../../agent/publish/xattr-read.js';
import { compareTrees } from '../../helpers/compare-trees.js';

const isRoot = process.getuid?.() === 0;
const run = createRunner(null);
let work = '';
let src = '';
let xattrsOk = true;
let aclOk = true;

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
const tryRun = (cmd: string, args: string[]) => {
  try {
    sh(cmd, args);
    return true;
  } catch {
    return false;
  }
};

async function packToBuffer(dir: string, skip?: typeof imageExclude): Promise<Buffer> {
  const listing = listTree(dir, skip);
  const attrs = await readTreeAttrs(run, dir);
  const chunks: Buffer[] = [];
  await packTree(listing, attrs, (c) => void chunks.push(c));
  return Buffer.concat(chunks);
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'si-publish-rt-'));
  src = join(work, 'src');
  mkdirSync(join(src, 'etc/deep'), { recursive: true });
  writeFileSync(join(src, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n');
  writeFileSync(join(src, 'etc/group'), 'root:x:0:\nbob:x:1000:\n');
  writeFileSync(join(src, 'etc/setuid'), 'x');
  chmodSync(join(src, 'etc/setuid'), 0o4755);
  writeFileSync(join(src, 'etc/private'), 'secret');
  chmodSync(join(src, 'etc/private'), 0o600);
  writeFileSync(join(src, 'big'), Buffer.alloc(3 << 20, 7));
  writeFileSync(join(src, 'empty'), '');
  writeFileSync(join(src, 'hl-a'), 'linked');
  linkSync(join(src, 'hl-a'), join(src, 'etc/deep/hl-b'));
  symlinkSync('../etc/passwd', join(src, 'etc/deep/link'));
  symlinkSync('x'.repeat(150), join(src, 'long-target'));
  const long = join(src, 'l'.repeat(90), 'm'.repeat(90));
  mkdirSync(join(src, 'l'.repeat(90)));
  writeFileSync(long, 'long path');
  writeFileSync(join(src, 'odd name\nwith newline ü ✓.txt'), 'odd');
  // Sparse: 8 MiB with data at 0, 1 MiB + 100 and 5 MiB; holes elsewhere, ending in a hole.
  const fd = openSync(join(src, 'sparse'), 'w');
  ftruncateSync(fd, 8 << 20);
  writeSync(fd, Buffer.from('head'), 0, 4, 0);
  writeSync(fd, Buffer.alloc(10000, 1), 0, 10000, (1 << 20) + 100);
  writeSync(fd, Buffer.from('tail'), 0, 4, 5 << 20);
  closeSync(fd);
  mkdirSync(join(src, 'lost+found'));
  writeFileSync(join(src, 'lost+found/junk'), 'j');
  mkdirSync(join(src, 'proc/1'), { recursive: true });
  sh('mkfifo', [join(src, 'fifo')]);
  xattrsOk = tryRun('setfattr', ['-n', 'user.note', '-v', '0x00ff0a', join(src, 'etc/passwd')]) && tryRun('setfattr', ['-n', 'user.dir', '-v', 'yes', join(src, 'etc')]);
  aclOk = tryRun('setfacl', ['-m', 'u:1000:r-x,g:1000:r--', join(src, 'etc/private')]) && tryRun('setfacl', ['-d', '-m', 'u:1000:rwx', join(src, 'etc/deep')]);
  if (isRoot) {
    lchownSync(join(src, 'etc/private'), 1000, 1000);
    lchownSync(join(src, 'etc/deep/link'), 1000, 2000);
    lchownSync(join(src, 'big'), 3_000_000, 65534);
    sh('mknod', [join(src, 'null'), 'c', '1', '3']);
    sh('mknod', [join(src, 'loopish'), 'b', '7', '300']);
    tryRun('setfattr', ['-n', 'trusted.t', '-v', 'tv', join(src, 'hl-a')]);
  }
  // Nanosecond mtimes survive through PAX mtime.
  utimesSync(join(src, 'etc/passwd'), 1_600_000_000, 1_600_000_000.123456);
  utimesSync(join(src, 'etc'), 1_500_000_000, 1_500_000_000);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('publish tar writer round trip through the extractor', () => {
  it('the plain stream extracts to the same tree, with the image excludes applied', async () => {
    if (!xattrsOk) console.warn('this filesystem takes no user.* xattrs: the xattr case is not proven here');
    if (!aclOk) console.warn('this filesystem takes no POSIX ACLs: the ACL case is not proven here');
    if (!isRoot) console.warn('not root: owners, devices and trusted.* xattrs are not proven here');
    const tar = await packToBuffer(src, imageExclude);
    const dest = join(work, 'plain');
    const r = await extractTar({ run }, Readable.from([tar]), dest);
    expect(r.compression).toBe('none');
    const diffs = await compareTrees(src, dest, { ignore: ['lost+found', 'proc/1'] });
    expect(diffs).toEqual([]);
    expect(() => statSync(join(dest, 'lost+found'))).toThrow();
    expect(statSync(join(dest, 'proc')).isDirectory()).toBe(true);
    expect(() => statSync(join(dest, 'proc/1'))).toThrow();
    expect(statSync(join(dest, 'sparse')).blocks * 512).toBeLessThan(1 << 20);
    expect(statSync(join(dest, 'etc/passwd')).mtimeMs).toBeCloseTo(1_600_000_000_123.456, 2);
    if (xattrsOk) expect(sh('getfattr', ['-n', 'user.note', '-e', 'hex', join(dest, 'etc/passwd')]).toString()).toContain('user.note=0x00ff0a');
    if (aclOk) expect(sh('getfacl', ['-n', '-c', join(dest, 'etc/private')]).toString()).toMatch(/user:1000:r-x/);
    if (isRoot) expect(statSync(join(dest, 'big')).uid).toBe(3_000_000);
  });

  it('writes the headers the extractor expects: PAX sparse 1.0, type 1 hard links, numeric owners, sorted PAX records', async () => {
    const tar = await packToBuffer(src, imageExclude);
    const p = new TarParser();
    const entries = p.feed(tar).filter((e) => e.kind === 'entry').map((e) => (e as { entry: import('../../../agent/transport/tar/parse.js').TarEntry }).entry);
    const byPath = new Map(entries.map((e) => [e.path.replace(/^\.\//, '').replace(/\/$/, ''), e]));
    expect(entries[0]!.path).toBe('./');
    expect(byPath.get('sparse')).toMatchObject({ type: 'file', sparse: true, size: 8 << 20 });
    // The first name in archive order holds the data ("etc/..." sorts before "hl-a"); the later one is a type '1' link.
    expect(byPath.get('etc/deep/hl-b')).toMatchObject({ type: 'file', size: 6 });
    expect(byPath.get('hl-a')).toMatchObject({ type: 'hardlink', linkname: './etc/deep/hl-b' });
    expect(byPath.get('long-target')!.linkname).toBe('x'.repeat(150));
    // Archive order: bytewise by name, a directory before its contents.
    const names = entries.map((e) => e.path);
    expect(names.indexOf('./etc/')).toBeLessThan(names.indexOf('./etc/deep/'));
    expect(names.indexOf('./big')).toBeLessThan(names.indexOf('./etc/'));
    // The header's uname/gname are empty: owners are numeric.
    const head = tar.subarray(0, 512);
    expect(head.toString('latin1', 265, 297).replace(/\0+$/, '')).toBe('');
    // PAX keys come sorted: SCHILY.acl before SCHILY.xattr, GNU.sparse before them.
    const paxText = tar.toString('latin1');
    const rec = /\d+ (GNU\.sparse\.major)=1\n\d+ GNU\.sparse\.minor=0\n\d+ GNU\.sparse\.name=\.\/sparse\n\d+ GNU\.sparse\.realsize=8388608\n/;
    expect(paxText).toMatch(rec);
  });

  it('the .tar.zst goes through zstd and back, and two packs of the same tree give the same bytes', async () => {
    const listing = listTree(src, imageExclude);
    const attrs = await readTreeAttrs(run, src);
    const a = await packArtefact(run, listing, attrs, join(work, 'a.tar.zst'), join(work, 'a.tar.gz'));
    const b = await packArtefact(run, listTree(src, imageExclude), await readTreeAttrs(run, src), join(work, 'b.tar.zst'), join(work, 'b.tar.gz'));
    expect(readFileSync(join(work, 'a.tar.zst')).equals(readFileSync(join(work, 'b.tar.zst')))).toBe(true);
    expect(readFileSync(join(work, 'a.tar.gz')).equals(readFileSync(join(work, 'b.tar.gz')))).toBe(true);
    expect(a.zst).toEqual(b.zst);
    expect(a.zst.size).toBe(statSync(join(work, 'a.tar.zst')).size);
    const dest = join(work, 'zst');
    const r = await extractTar({ run }, createReadStream(join(work, 'a.tar.zst')), dest, { expectSha256: a.zst.sha256 });
    expect(r.compression).toBe('zstd');
    expect(await compareTrees(src, dest, { ignore: ['lost+found', 'proc/1'] })).toEqual([]);
    const gzDest = join(work, 'gz');
    expect((await extractTar({ run }, createReadStream(join(work, 'a.tar.gz')), gzDest)).compression).toBe('gzip');
    expect(await compareTrees(src, gzDest, { ignore: ['lost+found', 'proc/1'] })).toEqual([]);
  });
});
