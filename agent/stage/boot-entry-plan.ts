// How to add a one-shot boot entry on this system: GRUB through its generator or grub.cfg itself, or systemd-boot; pure.

import { SiError } from '../errors.js';
import { findProgram, type TargetView } from '../target/target-view.js';

/** The menu entry id GRUB boots once (grub-reboot takes it), and the systemd-boot entry file. */
export const ENTRY_ID = 'systemimager-autoinstall';
export const ENTRY_TITLE = 'SystemImager autoinstall';
export const GRUB_D_SCRIPT = '/etc/grub.d/42_systemimager';
export const LOADER_ENTRY = 'systemimager-autoinstall.conf';

export type BootEntryPlan =
  | {
      kind: 'grub';
      /** /boot/grub or /boot/grub2. */
      grubDir: string;
      grubCfg: string;
      /** update-grub, grub-mkconfig or grub2-mkconfig (argv, run chrooted): regenerates grub.cfg with the grub.d script. */
      generator?: string[];
      /** grub-reboot or grub2-reboot; without one, grubenv's next_entry is written directly. */
      rebootTool?: string;
      /** grub-editenv or grub2-editenv, to read grubenv back. */
      editenv?: string;
    }
  | {
      kind: 'systemd-boot';
      /** The ESP (or XBOOTLDR) holding loader/entries, inside the target. */
      espDir: string;
      bootctl?: string;
    };

/** The GRUB config directories looked at, in order. */
const GRUB_DIRS = ['/boot/grub', '/boot/grub2'];
const ESP_DIRS = ['/boot/efi', '/efi', '/boot'];

/**
 * GRUB when a grub.cfg exists (with its generator when the system has one, whose 00_header honours next_entry),
 * else systemd-boot when an ESP holds loader/loader.conf; else E_TARGET naming what was looked for.
 */
export function planBootEntry(view: TargetView): BootEntryPlan {
  for (const dir of GRUB_DIRS) {
    const cfg = `${dir}/grub.cfg`;
    if (!view.exists(cfg)) continue;
    const two = dir.endsWith('grub2');
    const updateGrub = two ? undefined : findProgram(view, 'update-grub');
    const mkconfig = findProgram(view, two ? 'grub2-mkconfig' : 'grub-mkconfig');
    const generator = updateGrub ? [updateGrub] : mkconfig ? [mkconfig, '-o', cfg] : undefined;
    const hasGrubD = view.exists('/etc/grub.d/00_header');
    return {
      kind: 'grub',
      grubDir: dir,
      grubCfg: cfg,
      ...(generator && hasGrubD ? { generator } : {}),
      ...optional('rebootTool', findProgram(view, two ? 'grub2-reboot' : 'grub-reboot')),
      ...optional('editenv', findProgram(view, two ? 'grub2-editenv' : 'grub-editenv')),
    };
  }
  for (const esp of ESP_DIRS) {
    if (view.exists(`${esp}/loader/loader.conf`)) return { kind: 'systemd-boot', espDir: esp, ...optional('bootctl', findProgram(view, 'bootctl')) };
  }
  throw new SiError('E_TARGET', `no boot loader to stage into: no GRUB config (${GRUB_DIRS.map((d) => `${d}/grub.cfg`).join(', ')}) and no systemd-boot (${ESP_DIRS.map((d) => `${d}/loader/loader.conf`).join(', ')})`);
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}
