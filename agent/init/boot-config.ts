// Reads the installed system's boot entry (kernel, initrd, command line) for kexec, from its GRUB config or its /boot.

import { naturalCompare } from '../natural-compare.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SiError } from '../errors.js';

export interface BootEntry {
  kernel: string; // absolute path on the install host (under the sysroot)
  initrd?: string;
  cmdline: string;
  from: string;
}

/** The first menu entry's `linux` and `initrd` lines of a grub.cfg text (GRUB's default entry unless `set default` says otherwise). */
export function parseGrubCfg(text: string): { kernel: string; args: string; initrd?: string } | undefined {
  const lines = text.split('\n').map((l) => l.trim());
  let inEntry = false;
  let kernel: { kernel: string; args: string; initrd?: string } | undefined;
  for (const l of lines) {
    if (/^menuentry\s/.test(l)) {
      if (kernel) break;
      inEntry = true;
      continue;
    }
    if (!inEntry) continue;
    const lin = /^linux(?:16|efi)?\s+(\S+)\s*(.*)$/.exec(l);
    if (lin) kernel = { kernel: lin[1]!, args: lin[2]! };
    const ird = /^initrd(?:16|efi)?\s+(\S+)/.exec(l);
    if (ird && kernel) kernel.initrd = ird[1]!;
    if (l === '}' && kernel) break;
  }
  return kernel;
}

/** A GRUB path is relative to the filesystem holding it: the root, or a separate /boot. */
function locate(sysroot: string, grubPath: string): string | undefined {
  return [join(sysroot, grubPath), join(sysroot, 'boot', grubPath)].find((p) => existsSync(p));
}

/** Compares kernel versions in file names so vmlinuz-6.1.0-10 sorts after vmlinuz-6.1.0-9. */
function byVersion(a: string, b: string): number {
  return naturalCompare(a, b);
}

/** The installed boot entry: grub.cfg's first entry, else the newest /boot/vmlinuz-* with root= from fstab. */
export function readBootEntry(sysroot: string, rootSpec: string | undefined): BootEntry {
  for (const cfg of ['boot/grub/grub.cfg', 'boot/grub2/grub.cfg']) {
    const p = join(sysroot, cfg);
    if (!existsSync(p)) continue;
    const e = parseGrubCfg(readFileSync(p, 'utf8'));
    const kernel = e && locate(sysroot, e.kernel);
    if (e && kernel) return { kernel, initrd: e.initrd ? locate(sysroot, e.initrd) : undefined, cmdline: e.args, from: cfg };
  }
  const boot = join(sysroot, 'boot');
  const kernels = existsSync(boot) ? readdirSync(boot).filter((f) => /^vmlinuz-/.test(f)).sort(byVersion) : [];
  const newest = kernels.at(-1);
  if (!newest) throw new SiError('E_TARGET', `kexec: the installed system has no kernel (no /boot/vmlinuz-* and no usable grub.cfg)`);
  if (!rootSpec) throw new SiError('E_TARGET', 'kexec: no root filesystem to pass as root=');
  const initrd = join(boot, newest.replace(/^vmlinuz-/, 'initrd.img-'));
  return { kernel: join(boot, newest), initrd: existsSync(initrd) ? initrd : undefined, cmdline: `root=${rootSpec} ro`, from: `/boot/${newest}` };
}
