// Copies programs into a staging root with exactly the shared libraries ldd lists, and the dynamic loader.

import { copyFileSync, chmodSync, existsSync, lstatSync, mkdirSync, readlinkSync, realpathSync, symlinkSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { $sync } from './zx.ts';

/** Parses ldd output into absolute library paths (the loader included); throws on "not found". */
export function parseLdd(text: string): string[] {
  const libs: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || /not a dynamic executable|statically linked/.test(line)) continue;
    const missing = /^(\S+) => not found/.exec(line);
    if (missing) throw new Error(`ldd: shared library ${missing[1]} not found`);
    const arrow = /=>\s+(\/\S+)/.exec(line);
    if (arrow) libs.push(arrow[1]);
    else if (line.startsWith('/')) libs.push(line.split(/\s+/)[0]);
  }
  return libs;
}

/** The libraries a program needs, per ldd; empty for static programs. */
export function sharedLibrariesOf(program: string): string[] {
  const r = $sync({ nothrow: true })`ldd ${program}`;
  if (r.exitCode !== 0 && /not a dynamic executable/.test(r.stdout + r.stderr)) return [];
  if (r.exitCode !== 0) throw new Error(`ldd ${program} failed: ${(r.stderr || r.stdout).trim()}`);
  return parseLdd(r.stdout);
}

/** Host path of a file with its directory resolved (usrmerge: /lib/x/libc.so.6 -> /usr/lib/x/libc.so.6). */
export function canonicalPath(path: string): string {
  return join(realpathSync(dirname(path)), basename(path));
}

/** Finds a program in the host's system directories. */
export function findProgram(name: string): string | null {
  if (name.includes('/')) return existsSync(name) ? resolve(name) : null;
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin']) {
    const p = join(dir, name);
    if (existsSync(p) && statSync(p).isFile()) return p;
  }
  return null;
}

/** Copies one regular file's content to root+dest, making parent dirs; keeps the mode. */
function copyInto(root: string, src: string, dest: string): void {
  const target = join(root, dest);
  if (existsSync(target)) return;
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(realpathSync(src), target);
  chmodSync(target, statSync(src).mode & 0o7777);
}

export interface CopiedProgram {
  /** Path inside the root. */
  path: string;
  libraries: string[];
}

/** Copies a program (following a symlink to its real file, re-creating the link) and its libraries into root. */
export function copyProgram(root: string, program: string, destPath?: string): CopiedProgram {
  const src = findProgram(program);
  if (!src) throw new Error(`program ${program} not found on the build host`);
  const canon = canonicalPath(src);
  const dest = destPath ?? canon;
  if (!destPath && lstatSync(canon).isSymbolicLink()) {
    const real = realpathSync(canon);
    copyProgram(root, real);
    const link = join(root, dest);
    if (!existsSync(link)) {
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(readlinkSync(canon), link);
    }
  } else {
    copyInto(root, src, dest);
  }
  const libraries = sharedLibrariesOf(src);
  for (const lib of libraries) copyInto(root, lib, canonicalPath(lib));
  return { path: dest, libraries };
}

/** Copies only the libraries a program needs into root (the program itself goes elsewhere, e.g. into an image). */
export function copyLibrariesOf(root: string, program: string): string[] {
  const libraries = sharedLibrariesOf(program);
  for (const lib of libraries) copyInto(root, lib, canonicalPath(lib));
  return libraries;
}

/** Makes a symlink inside root (e.g. pvcreate -> lvm) unless something is already there. */
export function linkInRoot(root: string, linkPath: string, target: string): void {
  const link = join(root, linkPath);
  if (existsSync(link) || isDanglingLink(link)) return;
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(target, link);
}

function isDanglingLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Copies a plain data file from the host (e.g. /etc/mke2fs.conf) when it exists. */
export function copyHostFile(root: string, hostPath: string, destPath = hostPath): boolean {
  if (!existsSync(hostPath)) return false;
  copyInto(root, resolve(hostPath), destPath);
  return true;
}
