// Boot tier (needs root and qemu-system-x86_64; TCG, no KVM): boots the standard kernel + initrd with a throwaway
// /init script (an extra cpio prepended to the initrd) that runs every initrd tool once on a virtio disk.

import { copyFileSync, chmodSync, createReadStream, createWriteStream, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { buildTestPackage, canBoot, removeTestDir } from './package-fixture.ts';
import { bootQemu, tailOf } from './qemu.ts';

const CHECKS = [
  'modprobe-virtio_blk', 'modprobe-ext4', 'modprobe-xfs', 'modprobe-btrfs', 'modprobe-vfat', 'modprobe-raid456', 'modprobe-dm_snapshot',
  'modprobe-nvme', 'modprobe-ahci', 'parted', 'partprobe', 'mkfs-ext4', 'tune2fs', 'mount-ext4', 'umount', 'mkfs-xfs', 'mkfs-btrfs',
  'blkid', 'lsblk', 'wipefs', 'losetup', 'mkfs-vfat', 'mkswap', 'lvm', 'pvcreate', 'vgcreate', 'lvcreate', 'lv-node', 'vgchange',
  'mdadm', 'rsync', 'kexec', 'udp-receiver', 'ssh', 'tini', 'agent', 'ip', 'dhcp',
];

/** Writes an uncompressed newc cpio holding /tools-check.sh; the kernel unpacks it before the real initrd. */
function overlayCpio(dir: string): string {
  const tree = join(dir, 'overlay');
  mkdirSync(tree, { recursive: true });
  copyFileSync(join(import.meta.dirname, 'guest', 'tools-check.sh'), join(tree, 'tools-check.sh'));
  chmodSync(join(tree, 'tools-check.sh'), 0o755);
  const out = join(dir, 'overlay.cpio');
  const r = spawnSync('cpio', ['--quiet', '-o', '-H', 'newc', '-R', '0:0', '-O', out], { cwd: tree, input: 'tools-check.sh\n' });
  if (r.status !== 0) throw new Error(`cpio failed: ${r.stderr}`);
  return out;
}

describe.skipIf(!canBoot())('boot tools: every initrd tool runs in the guest', () => {
  let dir: string | undefined;
  let pkg: PackageResult;

  beforeAll(async () => {
    ({ dir, pkg } = await buildTestPackage('console=ttyS0', false));
  }, 300_000);
  afterAll(() => removeTestDir(dir));

  it('partitions, makes filesystems, LVM, loads modules, gets a DHCP lease', async () => {
    const d = dir as string;
    const combined = join(d, 'initrd-with-check.img');
    writeFileSync(combined, '');
    await pipeline(createReadStream(overlayCpio(d)), createWriteStream(combined, { flags: 'a' }));
    await pipeline(createReadStream(join(pkg.dir, 'initrd.img')), createWriteStream(combined, { flags: 'a' }));
    const disk = join(d, 'disk.img');
    writeFileSync(disk, '');
    truncateSync(disk, 800 * 1024 * 1024);

    const r = await bootQemu({
      workDir: d,
      kernel: join(pkg.dir, 'kernel'),
      initrd: combined,
      append: 'console=ttyS0 panic=-1 rdinit=/tools-check.sh',
      disks: [disk],
      until: /SMOKE-DONE/,
      timeoutMs: 240_000,
    });
    expect(r.matched, `serial log:\n${tailOf(r.log, 60)}`).toBe(true);
    const failed = [...r.log.matchAll(/SMOKE:([\w.-]+):FAILED/g)].map((m) => m[1]);
    expect(failed, `serial log:\n${tailOf(r.log, 80)}`).toEqual([]);
    const passed = new Set([...r.log.matchAll(/SMOKE:([\w.-]+):ok/g)].map((m) => m[1]));
    for (const c of CHECKS) expect(passed.has(c), `check ${c} did not report ok`).toBe(true);
  }, 300_000);
});
