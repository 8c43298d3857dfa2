// Boot tier (needs root and qemu-system-x86_64; TCG, no KVM): builds the standard boot package and boots
// its kernel + initrd in QEMU; the agent (the SEA as /init) must start and write to the serial console.

import { readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { buildTestPackage, canBoot, removeTestDir } from './package-fixture.ts';
import { bootQemu, tailOf } from './qemu.ts';
import { INSTALLER_KERNEL_WORDS } from '../../agent/init/installer-kernel-words.ts';

const APPEND = 'console=ttyS0 panic=-1';

describe.skipIf(!canBoot())('boot smoke: kernel + initrd in QEMU', () => {
  let dir: string | undefined;
  let pkg: PackageResult;

  beforeAll(async () => {
    ({ dir, pkg } = await buildTestPackage(APPEND, false));
  }, 300_000);
  afterAll(() => removeTestDir(dir));

  it('writes kernel, initrd, configs and a manifest whose sizes and hashes match', () => {
    const m = JSON.parse(readFileSync(join(pkg.dir, 'manifest.json'), 'utf8'));
    expect(m.kernel.version).toBe(pkg.kernel.version);
    expect(m.modules.count).toBeGreaterThan(50);
    for (const a of m.artefacts as { file: string; bytes: number; sha256: string }[]) {
      const data = readFileSync(join(pkg.dir, a.file));
      expect(statSync(join(pkg.dir, a.file)).size).toBe(a.bytes);
      expect(createHash('sha256').update(data).digest('hex')).toBe(a.sha256);
    }
    // The configs carry the installer's own words first (rootfstype=ramfs), then the site's.
    const words = [...INSTALLER_KERNEL_WORDS, APPEND].join(' ');
    expect(readFileSync(join(pkg.dir, 'pxelinux.cfg/default'), 'utf8')).toContain(`APPEND initrd=initrd.img ${words}`);
    expect(readFileSync(join(pkg.dir, 'boot.ipxe'), 'utf8')).toMatch(/^#!ipxe\n/);
    expect(readFileSync(join(pkg.dir, 'grub/grub.cfg'), 'utf8')).toContain(`linux /kernel ${words}`);
    for (const t of ['parted', 'mke2fs', 'mkfs.xfs', 'mdadm', 'lvm', 'rsync', 'udp-receiver', 'kexec', 'kmod']) expect(m.initrd.tools).toContain(t);
  });

  it('boots to /init and the agent writes to the serial console', async () => {
    const r = await bootQemu({
      workDir: dir as string,
      kernel: join(pkg.dir, 'kernel'),
      initrd: join(pkg.dir, 'initrd.img'),
      append: APPEND,
      until: /Run \/init as init process[\s\S]*si-agent[: ]/,
      timeoutMs: 150_000,
    });
    expect(r.matched, `serial log:\n${tailOf(r.log)}`).toBe(true);
    // The kernel found and unpacked the zstd initrd without complaint.
    expect(r.log).not.toMatch(/Initramfs unpacking failed|junk in compressed archive/);
    console.log(`boot smoke: /init after ${r.initSeconds} s, agent output after ${r.seconds} s`);
  }, 200_000);
});
