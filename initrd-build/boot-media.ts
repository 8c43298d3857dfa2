// Renders the boot-configs/ templates and writes PXE (pxelinux, iPXE, GRUB EFI) configs, the ISO and the USB image.

import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $sync } from './zx.ts';

export interface TemplateVars {
  VERSION: string;
  FLAVOR: string;
  KERNEL_VERSION: string;
  APPEND: string;
  PREFIX?: string;
}

/** Replaces @NAME@ placeholders; an unknown placeholder is an error, not silent text. */
export function renderTemplate(text: string, vars: TemplateVars): string {
  const table: Record<string, string> = { PREFIX: '', ...vars };
  return text.replace(/@([A-Z_]+)@/g, (_m, name: string) => {
    if (!(name in table)) throw new Error(`template placeholder @${name}@ has no value`);
    return table[name];
  });
}

function render(configsDir: string, name: string, vars: TemplateVars): string {
  return renderTemplate(readFileSync(join(configsDir, name), 'utf8'), vars);
}

/** Files of syslinux that pxelinux needs beside it at the TFTP root. */
const PXELINUX_FILES = ['/usr/lib/PXELINUX/pxelinux.0', '/usr/lib/syslinux/modules/bios/ldlinux.c32'];

/** Writes pxelinux.cfg/default, boot.ipxe and grub/grub.cfg into outDir (a TFTP-ready root with kernel and initrd.img). */
export function writeNetbootConfigs(outDir: string, configsDir: string, vars: TemplateVars): string[] {
  const written: string[] = [];
  const put = (rel: string, text: string) => {
    mkdirSync(join(outDir, rel, '..'), { recursive: true });
    writeFileSync(join(outDir, rel), text);
    written.push(rel);
  };
  put('pxelinux.cfg/default', render(configsDir, 'pxelinux.cfg.default', vars));
  put('boot.ipxe', render(configsDir, 'boot.ipxe', vars));
  put('grub/grub.cfg', render(configsDir, 'grub-netboot.cfg', vars));
  if (existsSync('/usr/lib/grub/x86_64-efi')) {
    writeGrubNetImage(join(outDir, 'grubx64.efi'));
    written.push('grubx64.efi');
  }
  for (const f of PXELINUX_FILES) {
    if (!existsSync(f)) continue;
    const name = f.split('/').pop() as string;
    copyFileSync(f, join(outDir, name));
    written.push(name);
  }
  return written;
}

/** GRUB modules the EFI netboot image needs to fetch grub/grub.cfg, the kernel and the initrd over TFTP. */
const GRUB_NET_MODULES = ['efinet', 'tftp', 'net', 'linux', 'normal', 'configfile', 'echo', 'serial', 'terminal', 'efi_gop', 'all_video', 'boot', 'test', 'sleep'];

/** Makes grubx64.efi, a UEFI network boot loader reading (tftp)/grub/grub.cfg from the server it came from. */
export function writeGrubNetImage(out: string): void {
  $sync()`grub-mkimage -O x86_64-efi -o ${out} -p ${'(tftp)/grub'} ${GRUB_NET_MODULES}`;
}

/** Builds a hybrid BIOS+EFI ISO (GRUB via grub-mkrescue and xorriso) holding /si/kernel and /si/initrd.img. */
export function buildIso(out: string, kernel: string, initrd: string, configsDir: string, vars: TemplateVars): void {
  const tree = mkdtempSync(join(tmpdir(), 'si-iso.'));
  try {
    mkdirSync(join(tree, 'si'), { recursive: true });
    mkdirSync(join(tree, 'boot/grub'), { recursive: true });
    // Hard links where possible: the ISO tree is read once by xorriso.
    const place = (src: string, dest: string) => {
      try {
        linkSync(src, dest);
      } catch {
        copyFileSync(src, dest);
      }
    };
    place(kernel, join(tree, 'si/kernel'));
    place(initrd, join(tree, 'si/initrd.img'));
    writeFileSync(join(tree, 'boot/grub/grub.cfg'), render(configsDir, 'grub-iso.cfg', vars));
    rmSync(out, { force: true });
    $sync({ env: { ...process.env, LC_ALL: 'C' } })`grub-mkrescue -o ${out} ${tree} -- -volid SI_AGENT`;
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}

/** The USB image: the ISO is hybrid (MBR + GPT with an EFI partition), so it is written to a stick as is. */
export function writeUsbImage(iso: string, out: string): void {
  rmSync(out, { force: true });
  copyFileSync(iso, out);
}
