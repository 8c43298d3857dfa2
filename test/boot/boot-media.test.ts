// Boot tier (needs root, qemu-system-x86_64 and OVMF; TCG, no KVM): boots the package's hybrid ISO (BIOS and
// UEFI) and its USB image as a disk; each must reach the agent as /init.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { buildTestPackage, canBoot, removeTestDir } from './package-fixture.ts';
import { bootQemu, tailOf, type QemuBoot } from './qemu.ts';

const AGENT_STARTED = /Run \/init as init process[\s\S]*si-agent[: ]/;

type Case = { name: string; boot: (pkgDir: string) => Partial<QemuBoot> };

const CASES: Case[] = [
  { name: 'ISO, BIOS (GRUB i386-pc)', boot: (p) => ({ cdrom: join(p, 'boot.iso') }) },
  { name: 'ISO, UEFI (OVMF, GRUB x86_64-efi)', boot: (p) => ({ cdrom: join(p, 'boot.iso'), efi: true }) },
  { name: 'USB image as a disk, BIOS', boot: (p) => ({ disks: [join(p, 'usb.img')], diskInterface: 'ide' }) },
];

describe.skipIf(!canBoot())('boot media: ISO and USB image reach the agent', () => {
  let dir: string | undefined;
  let pkg: PackageResult;

  beforeAll(async () => {
    ({ dir, pkg } = await buildTestPackage('console=ttyS0 panic=-1', true));
  }, 300_000);
  afterAll(() => removeTestDir(dir));

  for (const c of CASES) {
    it(c.name, async () => {
      const r = await bootQemu({ workDir: dir as string, until: AGENT_STARTED, timeoutMs: 150_000, ...c.boot(pkg.dir) });
      expect(r.matched, `serial log:\n${tailOf(r.log)}`).toBe(true);
      console.log(`${c.name}: /init after ${r.initSeconds} s`);
    }, 180_000);
  }
});
