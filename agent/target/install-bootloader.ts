// Installs the boot loader in the target: chooses BIOS or UEFI, makes the by-uuid links GRUB needs, runs the planned commands.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withContext } from '../errors.js';
import type { DiskPlan } from '../plan/disk-plan-types.js';
import type { BootMode, BootPlan } from './boot-plan.js';
import { runInTarget, type TargetCtx } from './target-ctx.js';
import { ensureUuidLinks } from './uuid-links.js';

/** BOOT_MODE when given, else what the install environment booted with (/sys/firmware/efi exists: UEFI). */
export function chooseBootMode(bootModeParam: string | undefined, sysDir: string): { mode: BootMode; why: string } {
  const p = bootModeParam?.toLowerCase();
  if (p === 'bios' || p === 'uefi') return { mode: p, why: 'BOOT_MODE' };
  return existsSync(join(sysDir, 'firmware/efi')) ? { mode: 'uefi', why: '/sys/firmware/efi exists' } : { mode: 'bios', why: 'no /sys/firmware/efi' };
}

/** True when the install environment booted by UEFI with EFI variables (an NVRAM boot entry can be made). */
export function hasEfivars(sysDir: string): boolean {
  return existsSync(join(sysDir, 'firmware/efi/efivars'));
}

/** Mounts efivarfs in the target's (bind-mounted, so empty) efivars directory; returns the undo. */
async function mountEfivars(t: TargetCtx): Promise<() => Promise<void>> {
  const dir = join(t.sysroot, 'sys/firmware/efi/efivars');
  if (!existsSync(dir) || readdirSync(dir).length > 0) return async () => {};
  await t.run('mount', ['-t', 'efivarfs', 'efivarfs', dir]);
  return async () => {
    await t.run('umount', [dir], { allowFail: true });
  };
}

/**
 * Runs the plan's commands chrooted (system directories must already be bind-mounted). The
 * by-uuid links are made in the bind-mounted /dev for every filesystem of the plan and removed
 * afterwards, whatever happens.
 */
export async function installBootLoader(t: TargetCtx, plan: DiskPlan, boot: BootPlan): Promise<void> {
  const devices = plan.mounts.map((m) => m.device).concat(plan.filesystems.map((f) => f.device));
  const undoLinks = await ensureUuidLinks(t.run, join(t.sysroot, 'dev'), devices);
  let undoEfivars = async () => {};
  try {
    if (boot.nvram) undoEfivars = await mountEfivars(t);
    for (const argv of boot.commands) {
      const tool = argv[0]!.split('/').pop()!;
      try {
        await runInTarget(t, argv);
      } catch (err) {
        throw withContext(err, `${tool} in the installed system`);
      }
    }
  } finally {
    await undoEfivars();
    undoLinks();
  }
  const cfgPath = join(t.sysroot, boot.grubCfg);
  const cfg = existsSync(cfgPath) ? readFileSync(cfgPath, 'utf8') : '';
  if (cfg === '') t.report.warn(`${boot.grubCfg} was not written`);
  else if (!/\broot=UUID=/.test(cfg)) t.report.warn(`${boot.grubCfg} does not name the root filesystem by UUID (GRUB_DISABLE_LINUX_UUID in the image's /etc/default/grub?)`);
  t.report.info(`boot loader installed (${boot.mode.toUpperCase()}), kernels: ${boot.kernels.join(', ')}`);
}
