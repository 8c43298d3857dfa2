// A read-only view of the installed system's files, so detection and rendering stay pure over file contents.

import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** What detection and rendering may ask about the target tree (paths are absolute inside the target). */
export interface TargetView {
  /** True when the path exists (a dangling symlink counts as existing). */
  exists(path: string): boolean;
  /** Names in a directory, sorted; [] when it is not a directory. */
  list(dir: string): string[];
  /** A regular file's text, undefined when absent or not a regular file. */
  read(path: string): string | undefined;
  /** A symlink's target, undefined when the path is not a symlink. */
  link(path: string): string | undefined;
}

/** A view over a directory tree on disk; symlinks are never followed out of it. */
export function readTargetView(root: string): TargetView {
  const at = (p: string) => join(root, p);
  const lst = (p: string) => {
    try {
      return lstatSync(at(p));
    } catch {
      return undefined;
    }
  };
  return {
    exists: (p) => lst(p) !== undefined,
    list: (d) => {
      if (!lst(d)?.isDirectory()) return [];
      try {
        return readdirSync(at(d)).sort();
      } catch {
        return [];
      }
    },
    read: (p) => (lst(p)?.isFile() ? readFileSync(at(p), 'utf8') : undefined),
    link: (p) => (lst(p)?.isSymbolicLink() ? readlinkSync(at(p)) : undefined),
  };
}

/** A view over an in-memory map of path -> text (symlinks as `-> target`), for tests and planning. */
export function memoryTargetView(files: Record<string, string>): TargetView {
  const paths = Object.keys(files);
  const isDir = (d: string) => paths.some((p) => p.startsWith(d.replace(/\/$/, '') + '/'));
  return {
    exists: (p) => p in files || isDir(p),
    list: (d) => {
      const pre = d.replace(/\/$/, '') + '/';
      return [...new Set(paths.filter((p) => p.startsWith(pre)).map((p) => p.slice(pre.length).split('/')[0]!))].sort();
    },
    read: (p) => (p in files && !files[p]!.startsWith('-> ') ? files[p] : undefined),
    link: (p) => (p in files && files[p]!.startsWith('-> ') ? files[p]!.slice(3) : undefined),
  };
}

/** The first of the paths that exists in the target, or undefined. */
export function firstExisting(view: TargetView, paths: readonly string[]): string | undefined {
  return paths.find((p) => view.exists(p));
}

/** The path of a program in the target's usual bin directories, or undefined. */
export function findProgram(view: TargetView, name: string): string | undefined {
  return firstExisting(view, ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((d) => `${d}/${name}`));
}
