// The record of what stage changed (files written or created, directories made), kept on the target so --undo restores it.

import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SiError } from '../errors.js';

/** Where the record and the originals live, inside the target. */
export const RECORD_DIR = '/boot/systemimager-stage';
export const RECORD_FILE = `${RECORD_DIR}/changes.json`;

export interface FileChange {
  kind: 'file';
  /** Path inside the target. */
  path: string;
  /** The original, copied into RECORD_DIR, when the file existed; absent when stage created it. */
  backup?: string;
  mode?: number;
  /** sha256 of what stage left there (null: stage left no file), to tell whether anything changed it since. */
  sha256After: string | null;
}

export interface DirChange {
  kind: 'dir';
  path: string;
}

export type Change = FileChange | DirChange;

export interface StageRecord {
  version: 1;
  stagedAt: string;
  server: string;
  flavor: string;
  /** The GRUB generator that rebuilt grub.cfg, to run again after undo when grub.cfg changed since. */
  generator?: string[];
  changes: Change[];
}

/** sha256 of a file's bytes, or null when absent. */
export function fileSha256(path: string): string | null {
  return existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : null;
}

/** Records changes as they are made and saves the record after each one, so a failure midway can be undone. */
export class ChangeRecorder {
  readonly record: StageRecord;
  private n = 0;
  constructor(private readonly root: string, head: Omit<StageRecord, 'version' | 'changes'>) {
    this.record = { version: 1, ...head, changes: [] };
  }

  private at(p: string): string {
    return join(this.root, p);
  }

  /** Makes the record directory (recorded itself) before anything else changes. */
  begin(): void {
    this.mkdirs(RECORD_DIR);
    this.save();
  }

  /** Makes a directory and its missing parents, recording each one made. */
  mkdirs(path: string): void {
    const missing: string[] = [];
    for (let p = path; p !== '/' && !existsSync(this.at(p)); p = dirname(p)) missing.unshift(p);
    for (const p of missing) {
      mkdirSync(this.at(p));
      this.record.changes.push({ kind: 'dir', path: p });
    }
    if (missing.length > 0 && path !== RECORD_DIR) this.save();
  }

  /** Before a file is changed by stage or a tool: keeps its original (if any). Call after() once it is changed. */
  before(path: string): FileChange {
    const full = this.at(path);
    const existing = this.record.changes.find((c): c is FileChange => c.kind === 'file' && c.path === path);
    if (existing) return existing;
    const change: FileChange = { kind: 'file', path, sha256After: null };
    if (existsSync(full)) {
      if (!lstatSync(full).isFile()) throw new SiError('E_TARGET', `${path} is not a regular file: stage will not replace it`);
      change.backup = `${RECORD_DIR}/orig-${++this.n}`;
      change.mode = statSync(full).mode & 0o7777;
      copyFileSync(full, this.at(change.backup));
    }
    this.mkdirs(dirname(path));
    this.record.changes.push(change);
    this.save();
    return change;
  }

  /** After the file was changed: notes what it now holds. */
  after(change: FileChange): void {
    change.sha256After = fileSha256(this.at(change.path));
    this.save();
  }

  /** Writes a file (atomically, through a temporary name) as a recorded change. */
  writeFile(path: string, data: string | Buffer, mode = 0o644): void {
    const change = this.before(path);
    const full = this.at(path);
    const tmp = `${full}.si-stage-tmp`;
    // A file that was there keeps its mode (grub.cfg may be 0600).
    writeFileSync(tmp, data, { mode: change.mode ?? mode });
    chmodSync(tmp, change.mode ?? mode);
    renameSync(tmp, full);
    this.after(change);
  }

  /** Saves the record (JSON) into the target. */
  save(): void {
    const file = this.at(RECORD_FILE);
    writeFileSync(`${file}.tmp`, JSON.stringify(this.record, null, 2) + '\n');
    renameSync(`${file}.tmp`, file);
  }
}

/** The record of the last stage, or undefined when nothing is staged. */
export function readRecord(root: string): StageRecord | undefined {
  const file = join(root, RECORD_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as StageRecord;
    if (r.version !== 1 || !Array.isArray(r.changes)) throw new Error('unknown format');
    return r;
  } catch (err) {
    throw new SiError('E_TARGET', `${RECORD_FILE} cannot be read (${(err as Error).message}): remove it by hand after checking what it lists`);
  }
}

/** Removes a file or an empty directory; false when it could not (not empty, gone). */
export function removeQuiet(path: string, dir = false): boolean {
  try {
    if (dir) rmdirSync(path);
    else rmSync(path);
    return true;
  } catch {
    return false;
  }
}
