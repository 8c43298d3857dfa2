// `si-agent stage --undo`: puts back every file stage changed and removes what it added, from its record.

import { chmodSync, copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SiError } from '../errors.js';
import { fileSha256, readRecord, RECORD_DIR, RECORD_FILE, removeQuiet, type StageRecord } from './change-record.js';

export interface UndoResult {
  /** One line per path: restored, removed, or left (changed since stage, with why). */
  lines: string[];
  /** True when a generated grub.cfg was left as it is and the generator must run again without the entry. */
  regenerate: boolean;
  record: StageRecord;
}

/**
 * Restores the files of the record, last change first: a file stage created is removed; one it changed gets its
 * original back, unless something changed it since (then it is left, and said so: GRUB clearing next_entry in
 * grubenv at boot, a kernel update rewriting grub.cfg). Directories stage made are removed when empty. force (the
 * rollback of a stage that failed midway) restores every original whatever happened since.
 */
export function undoRecorded(root: string, opts: { force?: boolean } = {}): UndoResult | undefined {
  const record = readRecord(root);
  if (!record) return undefined;
  const at = (p: string) => join(root, p);
  const lines: string[] = [];
  let regenerate = false;
  for (const c of [...record.changes].reverse()) {
    if (c.kind === 'dir') {
      if (c.path === RECORD_DIR) continue;
      if (existsSync(at(c.path)) && readdirSync(at(c.path)).length === 0 && removeQuiet(at(c.path), true)) lines.push(`removed directory ${c.path}`);
      else if (existsSync(at(c.path))) lines.push(`left directory ${c.path} (not empty)`);
      continue;
    }
    const now = fileSha256(at(c.path));
    const unchanged = opts.force === true || now === c.sha256After;
    if (c.backup === undefined) {
      // Stage created it: it goes, changed or not (the grub.d script, the staged kernel and initrd, the loader entry).
      if (now !== null && removeQuiet(at(c.path))) lines.push(`removed ${c.path}`);
      continue;
    }
    if (!unchanged) {
      lines.push(`left ${c.path} as it is (changed since stage)`);
      if (record.generator && /grub2?\/grub\.cfg$/.test(c.path)) regenerate = true;
      continue;
    }
    copyFileSync(at(c.backup), at(c.path));
    if (c.mode !== undefined) chmodSync(at(c.path), c.mode);
    lines.push(`restored ${c.path}`);
  }
  for (const c of record.changes) if (c.kind === 'file' && c.backup) removeQuiet(at(c.backup));
  removeQuiet(at(RECORD_FILE));
  if (!removeQuiet(at(RECORD_DIR), true) && existsSync(at(RECORD_DIR))) {
    throw new SiError('E_TARGET', `${RECORD_DIR} holds files stage did not put there: left in place`);
  }
  if (record.changes.some((c) => c.kind === 'dir' && c.path === RECORD_DIR)) lines.push(`removed ${RECORD_DIR}`);
  return { lines, regenerate, record };
}
