// Lists a directory tree for packing: every entry in the archive's order (bytewise by name, a directory before its
// contents), its lstat, hard links found, SPEC 7's image excludes applied.

import * as fs from 'node:fs';
import { join } from 'node:path';
import { SiError } from '../errors.js';

export type ListType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';

export interface ListEntry {
  /** Relative path ('' for the root itself). */
  rel: string;
  type: ListType;
  st: fs.BigIntStats;
  /** Symlink target. */
  link?: string;
  /** For a hard link: the relative path of the first name of the same file in archive order. */
  hardlinkOf?: string;
}

export interface TreeListing {
  root: string;
  entries: ListEntry[];
  /** Bytes of file data the archive will carry (hard links counted once). */
  dataBytes: number;
  /** Sockets and other entries tar cannot carry, left out. */
  skipped: string[];
}

function typeOf(st: fs.BigIntStats): ListType | null {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return null;
}

/** A failure reading the tree, naming the path: bad input (E_PARAM) when missing or unreadable. */
export function treeError(path: string, err: unknown): SiError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' || code === 'EPERM' ? 'cannot be read (permission denied)' : code === 'ENOTDIR' ? 'is not a directory' : (err as Error).message;
  return new SiError(code === 'ENOENT' || code === 'EACCES' || code === 'EPERM' || code === 'ENOTDIR' ? 'E_PARAM' : 'E_INTERNAL', `${path} ${why}`, { cause: err });
}

/** Byte order of UTF-8 names, as `tar --sort=name` and `LC_ALL=C ls` order them. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** SPEC 7's image excludes, as rsync's `--exclude=lost+found/ --exclude=/proc/*` (the agent's imageSkip, for directories). */
export function imageExclude(rel: string, isDir: boolean): boolean {
  return (isDir && /(^|\/)lost\+found$/.test(rel)) || rel.startsWith('proc/');
}

/** Lists root (which must be a readable directory); skip(rel) leaves entries (and a directory's contents) out. */
export function listTree(root: string, skip?: (rel: string, isDir: boolean) => boolean): TreeListing {
  let top: fs.BigIntStats;
  try {
    top = fs.statSync(root, { bigint: true });
  } catch (err) {
    throw treeError(root, err);
  }
  if (!top.isDirectory()) throw new SiError('E_PARAM', `${root} is not a directory`);
  const out: TreeListing = { root, entries: [{ rel: '', type: 'dir', st: top }], dataBytes: 0, skipped: [] };
  const firstName = new Map<string, string>();
  const walk = (rel: string): void => {
    const abs = rel === '' ? root : join(root, rel);
    let names: string[];
    try {
      names = fs.readdirSync(abs);
    } catch (err) {
      throw treeError(abs, err);
    }
    names.sort(compareNames);
    for (const name of names) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const p = join(root, r);
      let st: fs.BigIntStats;
      try {
        st = fs.lstatSync(p, { bigint: true });
      } catch (err) {
        throw treeError(p, err);
      }
      const type = typeOf(st);
      if (type === null) {
        out.skipped.push(r);
        continue;
      }
      if (skip?.(r, type === 'dir')) continue;
      const e: ListEntry = { rel: r, type, st };
      if (type === 'symlink') e.link = fs.readlinkSync(p);
      if (type !== 'dir' && st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        const first = firstName.get(key);
        if (first !== undefined) e.hardlinkOf = first;
        else firstName.set(key, r);
      }
      if (type === 'file' && e.hardlinkOf === undefined) {
        // Fail early, naming the file, rather than half way through the archive.
        try {
          fs.accessSync(p, fs.constants.R_OK);
        } catch (err) {
          throw treeError(p, err);
        }
        out.dataBytes += Number(st.size);
      }
      out.entries.push(e);
      if (type === 'dir') walk(r);
    }
  };
  walk('');
  return out;
}
