// Boot tier (needs root, qemu-system-x86_64, ipxe-qemu ROMs and OVMF; TCG, no KVM): network-boots the package
// directory as a TFTP root (QEMU user networking, restrict=on) with pxelinux, iPXE and GRUB EFI; each must reach the agent.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { buildTestPackage, canBoot, removeTestDir } from './package-fixture.ts';
import { bootQemu, tailOf, type QemuBoot } from './qemu.ts';

const AGENT_STARTED = /Run \/init as init process[\s\S]*si-agent[: ]/;

type Case = { name: string; boot: (pkgDir: string) => Partial<QemuBoot> };

const CASES: Case[] = [
  { name: 'PXE, BIOS (pxelinux.0)', boot: (p) => ({ netboot: { tftpDir: p, bootfile: 'pxelinux.0' } }) },
  { name: 'iPXE script (boot.ipxe)', boot: (p) => ({ netboot: { tftpDir: p, bootfile: 'boot.ipxe' } }) },
  { name: 'GRUB EFI netboot (grubx64.efi)', boot: (p) => ({ netboot: { tftpDir: p, bootfile: 'grubx64.efi' }, efi: true }) },
];

describe.skipIf(!canBoot())('boot netboot: pxelinux, iPXE and GRUB EFI reach the agent', () => {
  let dir: string | undefined;
  let pkg: PackageResult;

  beforeAll(async () => {
    ({ dir, pkg } = await buildTestPackage('console=ttyS0 panic=-1', false));
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
