// Boot tier, no QEMU (needs root: the initrd holds /dev/console): builds the default initrd twice with a baked-in
// local.cfg and SSH material, checks what the archives hold, that the two builds are byte-identical, and that the
// initrd stays under the size limit of issue 13.

import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInitrd } from '../../initrd-build/initrd.ts';
import { fetchDebianKernel } from '../../initrd-build/kernel.ts';
import { standardModuleRequests } from '../../initrd-build/module-list.ts';
import { splitCpioArchives } from '../../initrd-build/cpio.ts';
import { $sync } from '../../initrd-build/zx.ts';
import { buildSea } from '../../initrd-build/sea.ts';
import { PROJECT_DIR } from './package-fixture.ts';

/** `cpio -tv` listing of a zstd initrd (its archives one after the other): path -> the listing line. */
function listing(initrd: string): Map<string, string> {
  const raw = initrd + '.cpio';
  $sync()`zstd -d -q -f -o ${raw} ${initrd}`;
  const archives = splitCpioArchives(readFileSync(raw));
  rmSync(raw);
  const out = archives.map((a) => $sync({ input: a })`cpio -itv --quiet`.stdout).join('');
  const m = new Map<string, string>();
  for (const line of out.split('\n').filter(Boolean)) {
    // The name follows the date ("Jan  1  1970 "); device lines have "5,   1" where files have a size.
    const name = /\s[A-Z][a-z]{2}\s+\d+\s+(?:\d{4}|\d\d:\d\d) (.*)$/.exec(line)?.[1] ?? '';
    m.set(name.replace(/ -> .*$/, ''), line);
  }
  return m;
}

describe.skipIf(process.getuid?.() !== 0)('initrd contents', () => {
  let dir: string;
  let files: Map<string, string>;
  const sha: string[] = [];
  const bytes: number[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'si-initrd-test.'));
    writeFileSync(join(dir, 'local.cfg'), 'IMAGESERVER=10.0.2.100\n');
    writeFileSync(join(dir, 'authorized_keys'), 'ssh-ed25519 AAAA test\n');
    $sync()`ssh-keygen -q -t ed25519 -N ${''} -f ${join(dir, 'key')}`;
    const kernel = fetchDebianKernel(join(PROJECT_DIR, '.cache'));
    const sea = buildSea({ projectDir: PROJECT_DIR });
    for (const n of [1, 2]) {
      const r = await buildInitrd({
        kernel, modules: standardModuleRequests(), agent: sea.path, agentVersion: '0.1.0', out: join(dir, `initrd${n}.img`),
        localCfg: join(dir, 'local.cfg'), sshKey: join(dir, 'key'), authorizedKeys: join(dir, 'authorized_keys'),
        cacheDir: join(PROJECT_DIR, '.cache', 'initrd-parts'),
      });
      sha.push(createHash('sha256').update(readFileSync(r.path)).digest('hex'));
      bytes.push(r.compressedBytes);
    }
    files = listing(join(dir, 'initrd1.img'));
  }, 600_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is byte-identical when built twice from the same inputs', () => {
    expect(sha[0]).toBe(sha[1]);
  });

  it('stays at most 45 MB with the default compression', () => {
    expect(bytes[0]).toBeLessThanOrEqual(45_000_000);
  });

  it('holds the agent as /init, the site files, and the loader', () => {
    expect(files.get('init')).toMatch(/^-rwx/);
    expect(files.get('local.cfg')).toMatch(/^-rw/);
    expect(files.get('root/.ssh/id_ed25519')).toMatch(/^-rw-------/);
    expect(files.get('root/.ssh/authorized_keys')).toMatch(/^-rw-------/);
    expect(files.get('dev/console')).toMatch(/^crw-------/);
    expect(files.get('lib64')).toMatch(/-> usr\/lib64$/);
    expect(files.has('usr/lib64/ld-linux-x86-64.so.2')).toBe(true);
    expect([...files.keys()].some((p) => /^usr\/lib\/modules\/[^/]+\/modules\.dep$/.test(p))).toBe(true);
  });

  it('never lets a busybox applet shadow a real tool, and has no busybox init', () => {
    for (const real of ['usr/bin/mount', 'usr/sbin/mkswap', 'usr/sbin/losetup', 'usr/sbin/blockdev', 'usr/bin/ip']) {
      expect(files.get(real), real).toMatch(/^-/);
    }
    expect(files.get('usr/bin/sh')).toMatch(/-> dash$/);
    expect(files.get('usr/bin/modprobe')).toMatch(/-> kmod$/);
    expect(files.get('usr/sbin/modprobe')).toBeUndefined();
    expect(files.get('usr/bin/wc')).toMatch(/-> \/usr\/bin\/busybox$/);
    expect(files.has('usr/sbin/init')).toBe(false);
    expect(files.get('usr/sbin/pvcreate')).toMatch(/-> lvm$/);
  });

  it('carries run mode for 4.3 masters: the functions, the agent call and shims, their directories and tools', () => {
    expect(files.get('etc/init.d/functions')).toMatch(/^-rw-r--r--/);
    expect(files.get('usr/lib/si-agent/compat/master-env.sh')).toMatch(/^-rw-r--r--/);
    for (const exe of ['si-agent-call', 'bin/shutdown', 'bin/kexec', 'bin/killall', 'bin/ifconfig', 'bin/udevadm']) {
      expect(files.get(`usr/lib/si-agent/compat/${exe}`), exe).toMatch(/^-rwxr-xr-x/);
    }
    for (const dir of ['a', 'torrents', 'var/lib/systemimager/flamethrower']) expect(files.get(dir), dir).toMatch(/^d/);
    // Real programs, not busybox applets: GNU tar (-S -p), bash, bc, sfdisk, xfs_db and the xfs_admin script.
    for (const tool of ['usr/bin/tar', 'usr/bin/bash', 'usr/bin/bc', 'usr/sbin/sfdisk', 'usr/sbin/xfs_db', 'usr/sbin/xfs_admin']) {
      expect(files.get(tool), tool).toMatch(/^-rwx/);
    }
    // What 4.3 masters and xfs_admin take from busybox.
    for (const applet of ['usr/bin/expr', 'usr/bin/mktemp', 'usr/bin/sleep', 'usr/bin/od', 'usr/bin/uname', 'usr/bin/gzip', 'usr/sbin/ifconfig']) {
      expect(files.get(applet), applet).toMatch(/-> \/usr\/bin\/busybox$/);
    }
  });
});
