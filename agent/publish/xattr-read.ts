// Reads a tree's extended attributes and POSIX ACLs with one `getfattr -R` run through the runner (Node has no xattr
// calls): user.*, security.*, trusted.* as PAX SCHILY.xattr values; the ACL xattrs as SCHILY.acl text with numeric ids.

import type { Runner } from '../exec/runner.js';
import { SiError } from '../errors.js';

export interface EntryAttrs {
  /** Attributes other than the ACLs, sorted by name. */
  xattrs: Array<[string, Buffer]>;
  acl: { access?: string; default?: string };
}

/** Undoes getfattr's path escapes (octal for control bytes, backslash and, with some locales, non-ASCII bytes). */
export function unescapeDumpPath(s: string): string {
  if (!s.includes('\\')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const m = s[i] === '\\' ? /^[0-7]{3}/.exec(s.slice(i + 1)) : null;
    if (m) {
      bytes.push(parseInt(m[0], 8));
      i += 3;
    } else bytes.push(...Buffer.from(s[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

const TAG_NAMES: Record<number, string> = { 0x01: 'user', 0x02: 'user', 0x04: 'group', 0x08: 'group', 0x10: 'mask', 0x20: 'other' };

/** Turns a system.posix_acl_* value (version 2) into ACL text with numeric ids, the form the extractor reads back. */
export function aclXattrToText(v: Buffer, path: string): string {
  if (v.length < 4 || (v.length - 4) % 8 !== 0 || v.readUInt32LE(0) !== 2) throw new SiError('E_PARAM', `${path}: unreadable POSIX ACL attribute (${v.length} bytes)`);
  const out: string[] = [];
  for (let o = 4; o < v.length; o += 8) {
    const tag = v.readUInt16LE(o);
    const perm = v.readUInt16LE(o + 2);
    const id = v.readUInt32LE(o + 4);
    const name = TAG_NAMES[tag];
    if (!name) throw new SiError('E_PARAM', `${path}: unknown POSIX ACL tag ${tag}`);
    const qual = tag === 0x02 || tag === 0x08 ? String(id) : '';
    out.push(`${name}:${qual}:${perm & 4 ? 'r' : '-'}${perm & 2 ? 'w' : '-'}${perm & 1 ? 'x' : '-'}`);
  }
  return out.join(',');
}

/** Parses `getfattr -d -e base64` output (paths relative to the tree) into attributes by relative path. */
export function parseGetfattr(text: string): Map<string, EntryAttrs> {
  const out = new Map<string, EntryAttrs>();
  let cur: EntryAttrs | null = null;
  let curPath = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      const p = unescapeDumpPath(line.slice(8));
      curPath = p === '.' ? '' : p.startsWith('./') ? p.slice(2) : p;
      cur = { xattrs: [], acl: {} };
      out.set(curPath, cur);
      continue;
    }
    if (!cur || line === '') continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const name = unescapeDumpPath(line.slice(0, eq));
    const raw = line.slice(eq + 1);
    const value = raw.startsWith('0s') ? Buffer.from(raw.slice(2), 'base64') : raw.startsWith('0x') ? Buffer.from(raw.slice(2), 'hex') : Buffer.from(raw.replace(/^"|"$/g, ''), 'utf8');
    if (name === 'system.posix_acl_access') cur.acl.access = aclXattrToText(value, curPath);
    else if (name === 'system.posix_acl_default') cur.acl.default = aclXattrToText(value, curPath);
    // Other system.* names (nfs4_acl, richacl) are the filesystem's own, not portable: left out, as GNU tar does.
    else if (!name.startsWith('system.')) cur.xattrs.push([name, value]);
  }
  for (const [k, v] of out) {
    v.xattrs.sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
    if (v.xattrs.length === 0 && !v.acl.access && !v.acl.default) out.delete(k);
  }
  return out;
}

/** Reads every attribute under root in one run (`getfattr -R -P -h -d -m - -e base64 .`, never following links). */
export async function readTreeAttrs(run: Runner, root: string): Promise<Map<string, EntryAttrs>> {
  const chunks: string[] = [];
  // getfattr exits 1 when a file vanished or an attribute could not be read: the output so far is used, the error named.
  const r = await run('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'base64', '.'], {
    cwd: root, quiet: true, allowFail: true, maxBuffer: 64 * 1024, timeout: 600_000, onStdout: (d) => chunks.push(d),
  });
  if (r.code !== 0) throw new SiError('E_COMMAND', `reading the extended attributes of ${root} failed: getfattr exited with ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  return parseGetfattr(chunks.join(''));
}
