// POSIX ACL text (PAX SCHILY.acl.*) to the kernel's system.posix_acl_* xattr form, names resolved in the target's own files.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TarError } from './header.js';

/** User and group names of the installed system (its etc/passwd and etc/group), not the initrd's. */
export interface IdMaps {
  users: Map<string, number>;
  groups: Map<string, number>;
}

async function readIds(file: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && /^\d+$/.test(f[2]!)) out.set(f[0]!, Number(f[2]));
  }
  return out;
}

/** Reads the target's passwd and group files (missing files give empty maps). */
export async function loadIdMaps(root: string): Promise<IdMaps> {
  return { users: await readIds(join(root, 'etc/passwd')), groups: await readIds(join(root, 'etc/group')) };
}

const TAGS: Record<string, [number, number]> = { user: [0x01, 0x02], group: [0x04, 0x08], mask: [0x10, 0x10], other: [0x20, 0x20] };
const UNDEFINED_ID = 0xffffffff;

function perm(p: string, entry: string): number {
  if (!/^[r-][w-][x-]$/.test(p)) throw new TarError(`bad ACL permissions ${JSON.stringify(p)}`, entry);
  return (p[0] === 'r' ? 4 : 0) | (p[1] === 'w' ? 2 : 0) | (p[2] === 'x' ? 1 : 0);
}

/** Encodes ACL text (`user::rw-,user:1000:r--,group::r--,mask::r--,other::---`) as a posix_acl xattr value (version 2). */
export function aclToXattr(text: string, ids: IdMaps | null, entry: string): Buffer {
  const rows: Array<[number, number, number]> = [];
  for (const raw of text.split(/[,\n]/)) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const f = line.split(':');
    const kind = f[0] === 'u' ? 'user' : f[0] === 'g' ? 'group' : f[0] === 'm' ? 'mask' : f[0] === 'o' ? 'other' : f[0]!;
    const tags = TAGS[kind];
    if (!tags || f.length < 3) throw new TarError(`bad ACL entry ${JSON.stringify(line)}`, entry);
    const qual = f[1]!;
    let id = UNDEFINED_ID;
    let tag = tags[0];
    if (qual !== '' && (kind === 'user' || kind === 'group')) {
      tag = tags[1];
      const numeric = f[3] && /^\d+$/.test(f[3]) ? f[3] : qual;
      const looked = kind === 'user' ? ids?.users.get(qual) : ids?.groups.get(qual);
      id = /^\d+$/.test(numeric) ? Number(numeric) : looked ?? NaN;
      if (!Number.isInteger(id)) throw new TarError(`ACL names ${kind} ${JSON.stringify(qual)}, unknown in the image's etc/${kind === 'user' ? 'passwd' : 'group'}`, entry);
    }
    rows.push([tag, perm(f[2]!, entry), id]);
  }
  // The kernel wants entries sorted by tag, then by id.
  rows.sort((a, b) => a[0] - b[0] || a[2] - b[2]);
  const buf = Buffer.alloc(4 + rows.length * 8);
  buf.writeUInt32LE(2, 0);
  rows.forEach(([tag, p, id], i) => {
    buf.writeUInt16LE(tag, 4 + i * 8);
    buf.writeUInt16LE(p, 6 + i * 8);
    buf.writeUInt32LE(id, 8 + i * 8);
  });
  return buf;
}
