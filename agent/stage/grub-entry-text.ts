// The texts of the staged boot entry: the /etc/grub.d script, a grub.cfg block, grubenv, a systemd-boot entry; pure.

import { SiError } from '../errors.js';
import { ENTRY_ID, ENTRY_TITLE } from './boot-entry-plan.js';

export const BEGIN_MARK = '### BEGIN si-agent stage ###';
export const END_MARK = '### END si-agent stage ###';

/** Refuses kernel command line words GRUB or a shell could not carry as data (control characters). */
export function checkCmdlineWords(words: readonly string[]): void {
  for (const w of words) {
    // eslint-disable-next-line no-control-regex
    if (w === '' || /[\x00-\x1f\x7f]/.test(w)) throw new SiError('E_USAGE', `kernel command line word ${JSON.stringify(w)} has control characters or is empty`);
  }
}

/** A word quoted for GRUB's script language (single quotes; a quote inside closes, escapes, reopens). */
export function grubQuote(word: string): string {
  return /^[A-Za-z0-9_.,:=/+@%-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A word quoted for POSIX sh (single quotes throughout). */
function shQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The /etc/grub.d script: run by update-grub/grub-mkconfig, it prints the entry with GRUB's own helpers for reaching
 * /boot (prepare_grub_to_access_device) and for the path of the files on their filesystem (separate /boot, btrfs
 * subvolumes). The command line is data in a single-quoted shell string.
 */
export function renderGrubDScript(kernel: string, initrd: string, words: readonly string[]): string {
  checkCmdlineWords(words);
  const args = words.map(grubQuote).join(' ');
  return `#!/bin/sh
# Written by si-agent stage: boots the SystemImager installer once (grub-reboot ${ENTRY_ID}).
# \`si-agent stage --undo\` removes it. Nothing here runs at boot; update-grub runs it to write grub.cfg.
set -e
prefix=/usr
exec_prefix=/usr
datarootdir=/usr/share
. "\${pkgdatadir:-/usr/share/grub}/grub-mkconfig_lib"
si_kernel=$(make_system_path_relative_to_its_root ${shQuote(kernel)})
si_initrd=$(make_system_path_relative_to_its_root ${shQuote(initrd)})
si_args=${shQuote(args)}
echo "menuentry '${ENTRY_TITLE}' --id ${ENTRY_ID} {"
if [ -n "\${GRUB_DEVICE_BOOT:-}" ]; then prepare_grub_to_access_device \${GRUB_DEVICE_BOOT} | sed -e 's/^/\\t/'; fi
printf '\\techo\\t%s\\n' "'Loading the SystemImager installer ...'"
printf '\\tlinux\\t%s %s\\n' "\${si_kernel}" "\${si_args}"
printf '\\tinitrd\\t%s\\n' "\${si_initrd}"
echo "}"
`;
}

/** A grub.cfg block for systems without a generator: the entry, reaching its filesystem by UUID. */
export function renderGrubCfgBlock(kernelPath: string, initrdPath: string, bootFsUuid: string, words: readonly string[]): string {
  checkCmdlineWords(words);
  return [
    BEGIN_MARK,
    `menuentry '${ENTRY_TITLE}' --id ${ENTRY_ID} {`,
    '\tinsmod part_msdos',
    '\tinsmod part_gpt',
    '\tinsmod ext2',
    `\tsearch --no-floppy --fs-uuid --set=root ${grubQuote(bootFsUuid)}`,
    `\tlinux\t${grubQuote(kernelPath)} ${words.map(grubQuote).join(' ')}`,
    `\tinitrd\t${grubQuote(initrdPath)}`,
    '}',
    END_MARK,
    '',
  ].join('\n');
}

/** grub.cfg with the block added after its header (before the first menu entry), or the block removed again. */
export function insertGrubCfgBlock(cfg: string, block: string): string {
  const clean = removeGrubCfgBlock(cfg);
  const at = clean.search(/^(menuentry|submenu)\s/m);
  return at < 0 ? clean + (clean.endsWith('\n') || clean === '' ? '' : '\n') + block : clean.slice(0, at) + block + clean.slice(at);
}

/** grub.cfg without a block this file added. */
export function removeGrubCfgBlock(cfg: string): string {
  const b = cfg.indexOf(BEGIN_MARK);
  const e = cfg.indexOf(END_MARK);
  if (b < 0 || e < b) return cfg;
  return cfg.slice(0, b) + cfg.slice(e + END_MARK.length).replace(/^\n/, '');
}

/** True when a grub.cfg boots next_entry once (GRUB's 00_header writes that test). */
export function honoursNextEntry(cfg: string): boolean {
  return /if \[ "\$\{next_entry\}" \]/.test(cfg) && /save_env next_entry/.test(cfg);
}

/** A GRUB environment block (exactly 1024 bytes) with the variables set. */
export function renderGrubenv(vars: Readonly<Record<string, string>>): Buffer {
  let text = '# GRUB Environment Block\n';
  for (const [k, v] of Object.entries(vars)) text += `${k}=${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n`;
  if (Buffer.byteLength(text) > 1024) throw new SiError('E_TARGET', 'grubenv would exceed 1024 bytes');
  return Buffer.concat([Buffer.from(text), Buffer.alloc(1024 - Buffer.byteLength(text), '#')]);
}

/** Variables of a grubenv block. */
export function parseGrubenv(block: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of block.split('\n')) {
    const m = /^([A-Za-z0-9_]+)=(.*)$/.exec(l);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** A systemd-boot loader entry for files on the ESP. */
export function renderLoaderEntry(kernel: string, initrd: string, words: readonly string[]): string {
  checkCmdlineWords(words);
  return `# Written by si-agent stage; \`si-agent stage --undo\` removes it.\ntitle ${ENTRY_TITLE}\nlinux ${kernel}\ninitrd ${initrd}\noptions ${words.join(' ')}\n`;
}
