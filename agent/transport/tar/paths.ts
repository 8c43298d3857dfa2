// Keeps every write inside the target: archive paths are normalized, and no path may pass through a symlink.

import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { TarError } from './header.js';

/** What a path in the target is, as far as this extraction knows. `newdir`: made by this run. */
export type Kind = 'dir' | 'newdir' | 'symlink' | 'other';

/** The archive path as a path relative to the target ('' is the target itself); refuses absolute paths and `..`. */
export function safeRelPath(raw: string, entry: string, what = 'path'): string {
  // The usual name (`./usr/bin/ls`, `./etc/`) needs no splitting: no empty, `.` or `..` part once `./` and a final `/`
  // are off.
  let s = raw.startsWith('./') ? raw.slice(2) : raw;
  if (s.endsWith('/')) s = s.slice(0, -1);
  if (s !== '' && s[0] !== '/' && s[0] !== '.' && !s.includes('//') && !s.includes('/.') && !s.includes('\0')) return s;
  if (raw.includes('\0')) throw new TarError(`${what} contains a NUL byte`, entry);
  if (raw.startsWith('/')) throw new TarError(`absolute ${what} ${JSON.stringify(raw)} refused (it would leave the target)`, entry);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new TarError(`${what} ${JSON.stringify(raw)} contains ".." and is refused (it could leave the target)`, entry);
  return parts.join('/');
}

/** The parent of a relative path ('' for a top-level entry). */
export function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

/** The target directory as the extraction sees it: what each path is, checked once and remembered. */
export class TargetTree {
  readonly root: string;
  private kinds = new Map<string, Kind>([['', 'dir']]);
  /** Called before a path is looked up on disk: the writes queued so far must be done first (they may make it). */
  beforeProbe: (() => Promise<void>) | null = null;

  /** The root, normalized, with a final slash: a relative path from safeRelPath is appended as it is. */
  private prefix: string;

  constructor(root: string) {
    this.root = root;
    this.prefix = join(root, 'x').slice(0, -1);
  }

  /** Absolute path of a relative one (from safeRelPath: normalized, no `..`). */
  abs(rel: string): string {
    return rel === '' ? this.root : this.prefix + rel;
  }

  /** What the extraction knows of a path (undefined: not seen yet). */
  kindOf(rel: string): Kind | undefined {
    return this.kinds.get(rel);
  }

  /** Records what a path now is. */
  set(rel: string, kind: Kind): void {
    this.kinds.set(rel, kind);
  }

  /** True when the parent directory was made by this extraction (its files start owned by us, no inherited group). */
  parentIsNew(rel: string): boolean {
    return this.kinds.get(parentOf(rel)) === 'newdir';
  }

  /**
   * Makes sure every directory above rel exists and is a real directory (made if missing, like GNU tar); refuses,
   * naming the entry, a parent that is a symlink (one the archive made, or one already there) or not a directory.
   */
  async ensureParents(rel: string, entry: string, create = true): Promise<void> {
    const parent = parentOf(rel);
    const k = this.kinds.get(parent);
    if (k === 'dir' || k === 'newdir') return;
    const parts = parent.split('/');
    let cur = '';
    for (const part of parts) {
      cur = cur === '' ? part : `${cur}/${part}`;
      const known = this.kinds.get(cur) ?? (await this.probe(cur, create));
      if (known === 'symlink') throw new TarError(`its path goes through the symlink ${JSON.stringify(cur)} and is refused (it could leave the target)`, entry);
      if (known === 'other') throw new TarError(`its parent ${JSON.stringify(cur)} is not a directory`, entry);
    }
  }

  /** Looks a path up on disk (lstat, never following a link); makes a missing directory. */
  private async probe(rel: string, create: boolean): Promise<Kind | undefined> {
    await this.beforeProbe?.();
    let kind: Kind;
    try {
      const st = await fsp.lstat(this.abs(rel));
      kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (!create) return undefined;
      await fsp.mkdir(this.abs(rel), { mode: 0o755 });
      kind = 'newdir';
    }
    this.kinds.set(rel, kind);
    return kind;
  }
}

/** Removes whatever is at abs so a new entry can take its place (an empty directory too); a full directory is an error. */
export async function clearPath(abs: string, entry: string): Promise<void> {
  try {
    await fsp.unlink(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'EISDIR' && code !== 'EPERM') throw err;
    try {
      await fsp.rmdir(abs);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOTEMPTY') throw new TarError('a non-empty directory is in the way', entry);
      throw e;
    }
  }
}
