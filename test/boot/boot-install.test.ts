// Boot tier (needs root, qemu-system-x86_64, socat, rsync; TCG, no KVM): the whole autoinstall under QEMU.
// The standard package boots with IMAGESERVER=10.0.2.100; guestfwd sends the guest's rsync connections to a
// fixture rsyncd on 127.0.0.1 (user networking, restrict=on). The agent partitions the virtio disk, lays the
// image down, powers off; the test then reads the disk through a loop device.

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, startRsyncd, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { buildTestPackage, canBoot, removeTestDir } from './package-fixture.ts';
import { bootQemu, SERVER_IP, tailOf } from './qemu.ts';

const LAYOUT = resolve(import.meta.dirname, '../../fixtures/layouts/gpt-ext4-xfs-swap.xml');
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const quiet = (cmd: string, args: string[]) => {
  try {
    sh(cmd, args);
  } catch {
    /* best-effort cleanup */
  }
};

describe.skipIf(!canBoot() || !existsSync('/usr/bin/socat'))('boot install: the agent as /init installs a disk in QEMU', () => {
  let dir: string | undefined;
  let pkg: PackageResult;
  let server: ImageServerInfo;
  let rsyncd: { port: number; stop(): Promise<void> } | undefined;

  beforeAll(async () => {
    const append = `console=ttyS0 panic=-1 IMAGESERVER=${SERVER_IP} HOSTNAME=node001 POST_ACTION=shutdown`;
    ({ dir, pkg } = await buildTestPackage(append, false));
    server = await makeImageServer(join(dir, 'server'));
    copyFileSync(LAYOUT, join(server.scriptsDir, 'disks-layouts', 'node001.xml'));
    rsyncd = await startRsyncd(server.dir);
  }, 300_000);
  afterAll(async () => {
    await rsyncd?.stop();
    removeTestDir(dir);
  });

  it('partitions, makes filesystems, lays the image and overrides down, writes fstab, powers off', async () => {
    const d = dir as string;
    const disk = join(d, 'disk.img');
    writeFileSync(disk, '');
    truncateSync(disk, 1200 * 1024 * 1024);
    const r = await bootQemu({
      workDir: d,
      kernel: join(pkg.dir, 'kernel'),
      initrd: join(pkg.dir, 'initrd.img'),
      append: pkg.manifest.append as string,
      disks: [disk],
      forwards: [{ guestPort: 873, hostPort: (rsyncd as { port: number }).port }],
      until: /reboot: Power down|si-agent shell #|Kernel panic/,
      timeoutMs: 420_000,
    });
    expect(r.matched, `serial log:\n${tailOf(r.log, 80)}`).toBe(true);
    expect(r.log, `serial log:\n${tailOf(r.log, 80)}`).toMatch(/reboot: Power down/);
    console.log(`boot install: /init after ${r.initSeconds} s, powered off after ${r.seconds} s`);

    const loop = sh('losetup', ['-fP', '--show', disk]).trim();
    const mnt = join(d, 'mnt');
    const mounted: string[] = [];
    try {
      sh('partprobe', [loop]);
      mkdirSync(mnt);
      sh('mount', ['-o', 'ro', `${loop}p4`, mnt]);
      mounted.push(mnt);
      sh('mount', ['-o', 'ro', `${loop}p2`, join(mnt, 'boot')]);
      mounted.unshift(join(mnt, 'boot'));
      expect(readFileSync(join(mnt, 'etc/systemimager/IMAGE_LAST_SYNCED_TO'), 'utf8').trim()).toBe(server.imageName);
      expect(readFileSync(join(mnt, 'etc/fstab'), 'utf8')).toMatch(/^LABEL=boot\s+\/boot\s+ext4/m);
      expect(readFileSync(join(mnt, 'etc/hostname'), 'utf8')).toBe('node001\n');
      expect(readFileSync(join(mnt, 'etc/shared-gc'), 'utf8')).toBe('compute\n');
      expect(existsSync(join(mnt, 'root/node001-only'))).toBe(true);
      expect(sh('blkid', ['-o', 'value', '-s', 'TYPE', `${loop}p4`]).trim()).toBe('xfs');
      expect(sh('blkid', ['-o', 'value', '-s', 'TYPE', `${loop}p3`]).trim()).toBe('swap');
    } finally {
      for (const m of mounted) quiet('umount', [m]);
      quiet('losetup', ['-d', loop]);
    }
  }, 600_000);
});
