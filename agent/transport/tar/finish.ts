// The extractor's last passes: device nodes and FIFOs, extended attributes in one setfattr run, directory metadata.

import * as fsp from 'node:fs/promises';
import type { Runner } from '../../exec/runner.js';
import type { TarEntry } from './entry.js';
import { aclToXattr, type IdMaps } from './acl.js';
import { clearPath } from './paths.js';

/** Makes a device node or FIFO (Node has no mknod: busybox/coreutils mknod through the runner), then owner, mode, times. */
export async function makeSpecial(run: Runner, abs: string, e: TarEntry, isRoot: boolean): Promise<void> {
  await clearPath(abs, e.path);
  const mode = (e.mode & 0o7777).toString(8);
  const args = e.type === 'fifo' ? [abs, 'p'] : [abs, e.type === 'char' ? 'c' : 'b', String(e.devmajor), String(e.devminor)];
  await run('mknod', ['-m', mode, ...args], { quiet: true });
  if (isRoot) await fsp.lchown(abs, e.uid, e.gid);
  await fsp.chmod(abs, e.mode & 0o7777);
  await fsp.lutimes(abs, e.atime ?? e.mtime, e.mtime);
}

/** Escapes a path the way getfattr writes it and `setfattr --restore` reads it (octal for control bytes, backslash, non-ASCII). */
export function escapeDumpPath(rel: string): string {
  let out = '';
  for (const b of Buffer.from(rel, 'utf8')) {
    out += b < 0x21 || b > 0x7e || b === 0x5c ? '\\' + b.toString(8).padStart(3, '0') : String.fromCharCode(b);
  }
  return out;
}

/** The attributes to set on one path: SCHILY.xattr values, plus ACLs given only as text turned into their xattr form. */
export function xattrsFor(e: TarEntry, ids: IdMaps | null): Array<[string, Buffer]> {
  const out = [...e.xattrs];
  const have = new Set(out.map(([k]) => k));
  if (e.acl.access && !have.has('system.posix_acl_access')) out.push(['system.posix_acl_access', aclToXattr(e.acl.access, ids, e.path)]);
  if (e.acl.default && !have.has('system.posix_acl_default')) out.push(['system.posix_acl_default', aclToXattr(e.acl.default, ids, e.path)]);
  return out;
}

/** Sets every collected attribute in one `setfattr -h --restore=-` run inside the target (never follows links). */
export async function applyXattrs(run: Runner, root: string, items: Array<{ rel: string; attrs: Array<[string, Buffer]> }>): Promise<number> {
  if (items.length === 0) return 0;
  const parts: string[] = [];
  let n = 0;
  for (const { rel, attrs } of items) {
    parts.push(`# file: ${escapeDumpPath(rel === '' ? '.' : rel)}\n`);
    for (const [name, value] of attrs) {
      parts.push(`${escapeDumpPath(name)}=0x${value.toString('hex')}\n`);
      n++;
    }
    parts.push('\n');
  }
  await run('setfattr', ['-h', '--restore=-'], { cwd: root, input: parts.join(''), timeout: 600_000 });
  return n;
}
