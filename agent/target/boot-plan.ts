// Plans the boot loader install (GRUB 2, BIOS or UEFI) from the image's files and the disk plan; pure, throws on what is missing.

import { SiError } from '../errors.js';
import type { DiskPlan } from '../plan/disk-plan-types.js';
import { bootDisks, espMount } from './boot-disk.js';
import { findProgram, type TargetView } from './target-view.js';

export type BootMode = 'bios' | 'uefi';

export interface BootPlan {
  mode: BootMode;
  /** Each argv runs chrooted in the target, in order. */
  commands: string[][];
  kernels: string[];
  /** The GRUB config file in the target (checked afterwards). */
  grubCfg: string;
  /** True when a command writes an NVRAM boot entry (efivarfs must be mounted in the target). */
  nvram: boolean;
}

/** Kernels in the image's /boot (vmlinuz-*, or a plain vmlinuz). */
export function findKernels(view: TargetView): string[] {
  return view.list('/boot').filter((n) => /^(vmlinuz|vmlinux|bzImage)(-.+)?$/.test(n));
}

/** The distribution id from os-release (bootloader-id), "linux" when absent or odd. */
export function distroId(view: TargetView): string {
  const text = view.read('/etc/os-release') ?? view.read('/usr/lib/os-release') ?? '';
  const id = /^ID="?([A-Za-z0-9._-]+)"?\s*$/m.exec(text)?.[1];
  return id ?? 'linux';
}

const fail = (msg: string) => new SiError('E_TARGET', msg);

/**
 * The initramfs (update-initramfs or dracut), then BIOS: grub-install --target=i386-pc on each boot disk. UEFI: grub-install --target=x86_64-efi
 * --removable (EFI/BOOT/BOOTX64.EFI, boots without NVRAM), plus one with an NVRAM entry when the
 * image has efibootmgr and efivars are there. Then the config (update-grub, grub-mkconfig or
 * grub2-mkconfig), all in the chroot.
 */
export function planBootLoader(view: TargetView, plan: DiskPlan, mode: BootMode, opts: { efivars: boolean }): BootPlan {
  const kernels = findKernels(view);
  if (kernels.length === 0) throw fail('the image has no kernel (no /boot/vmlinuz-*): it cannot boot; install a kernel package in the image or set BOOTLOADER=none');
  const install = findProgram(view, 'grub-install') ?? findProgram(view, 'grub2-install');
  if (!install) throw fail('the image has no boot loader (no grub-install or grub2-install): install GRUB 2 in the image (Debian: grub2-common with grub-pc-bin/grub-efi-amd64-bin) or set BOOTLOADER=none');
  const libDir = install.endsWith('grub2-install') ? 'grub2' : 'grub';
  const platform = mode === 'bios' ? 'i386-pc' : 'x86_64-efi';
  if (!view.exists(`/usr/lib/${libDir}/${platform}`)) {
    throw fail(`the image has no GRUB ${platform} modules (/usr/lib/${libDir}/${platform}; Debian: ${mode === 'bios' ? 'grub-pc-bin' : 'grub-efi-amd64-bin'}): cannot install for ${mode.toUpperCase()}`);
  }
  // The initramfs first: grub-mkconfig only lists an initrd that exists when it runs.
  const commands: string[][] = [];
  let nvram = false;
  const initramfs = planInitramfs(view, kernels);
  if (initramfs) commands.push(initramfs);
  if (mode === 'bios') {
    const disks = bootDisks(plan);
    if (disks.length === 0) throw fail('no boot disk: the disk plan mounts neither /boot nor /');
    for (const d of disks) commands.push([install, '--target=i386-pc', '--recheck', d]);
  } else {
    const esp = espMount(plan);
    if (!esp) throw fail('UEFI boot needs an EFI system partition: the layout mounts no vfat filesystem at /boot/efi (or /efi)');
    const id = distroId(view);
    const base = [install, '--target=x86_64-efi', `--efi-directory=${esp.mp}`, `--bootloader-id=${id}`, '--recheck'];
    commands.push([...base, '--removable', '--no-nvram']);
    if (opts.efivars && findProgram(view, 'efibootmgr')) {
      commands.push(base);
      nvram = true;
    }
  }
  const grubDir = `/boot/${libDir}`;
  const grubCfg = `${grubDir}/grub.cfg`;
  const updateGrub = findProgram(view, 'update-grub');
  const mkconfig = findProgram(view, 'grub-mkconfig') ?? findProgram(view, 'grub2-mkconfig');
  if (updateGrub && libDir === 'grub') commands.push([updateGrub]);
  else if (mkconfig) commands.push([mkconfig, '-o', grubCfg]);
  else throw fail('the image has no grub-mkconfig (or update-grub / grub2-mkconfig) to write the GRUB config');
  return { mode, commands, kernels, grubCfg, nvram };
}

/** update-initramfs (-u when every kernel has an initrd, else -c) or dracut; undefined when the image has neither. */
export function planInitramfs(view: TargetView, kernels: string[]): string[] | undefined {
  const update = findProgram(view, 'update-initramfs');
  if (update) {
    const all = kernels.every((k) => view.exists(`/boot/${k.replace(/^[a-zA-Z]+/, 'initrd.img')}`));
    return [update, all ? '-u' : '-c', '-k', 'all'];
  }
  const dracut = findProgram(view, 'dracut');
  return dracut ? [dracut, '--regenerate-all', '-f'] : undefined;
}
