// Encodes one archive entry as the extractor reads it: ustar header blocks, preceded by a PAX header when a field needs one.

import { SiError } from '../errors.js';

export const BLOCK = 512;

/** What the writer knows about one entry: the path in the archive (`./rel`), its type flag and metadata. */
export interface HeaderFields {
  path: string;
  /** ustar type flag: '0' file, '1' hard link, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo. */
  type: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data that follow the header (a sparse file's map and data regions). */
  size: number;
  /** Modification time: whole seconds and nanoseconds. */
  mtimeSec: bigint;
  mtimeNsec: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extra PAX records (xattrs, ACLs, sparse keys): key to bytes. */
  pax?: Array<[string, Buffer]>;
}

const MAX_OCT7 = 0o7777777;
const MAX_OCT11 = 0o77777777777;

function octal(b: Buffer, off: number, len: number, v: number): void {
  b.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

/** True when a name can stand in a ustar field as it is: printable ASCII only (anything else goes to PAX in UTF-8). */
function plain(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

/** Splits a path into ustar's prefix and name (prefix at a slash, <= 155 and <= 100 bytes); null when it cannot. */
function splitUstar(p: string): [string, string] | null {
  if (p.length <= 100) return ['', p];
  for (let i = p.length - 1; i > 0; i--) {
    if (p[i] !== '/') continue;
    if (i > 155) continue;
    const name = p.slice(i + 1);
    if (name.length === 0 || name.length > 100) return null;
    return [p.slice(0, i), name];
  }
  return null;
}

/** Encodes PAX records (`LEN key=value\n`), sorted by key bytes so the same entry always gives the same bytes. */
export function encodePax(records: Array<[string, Buffer]>): Buffer {
  const sorted = [...records].sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
  const parts: Buffer[] = [];
  for (const [key, value] of sorted) {
    const body = Buffer.byteLength(key) + value.length + 3; // ' ', '=', '\n'
    let len = body + 1;
    while (len !== body + String(len).length) len = body + String(len).length;
    parts.push(Buffer.from(`${len} ${key}=`), value, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

function ustarBlock(name: string, prefix: string, f: HeaderFields, type: string, size: number, linkname: string, mtime: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(name, 0, 100, 'latin1');
  octal(b, 100, 8, f.mode & 0o7777);
  octal(b, 108, 8, f.uid <= MAX_OCT7 ? f.uid : 0);
  octal(b, 116, 8, f.gid <= MAX_OCT7 ? f.gid : 0);
  octal(b, 124, 12, size <= MAX_OCT11 ? size : 0);
  octal(b, 136, 12, mtime >= 0 && mtime <= MAX_OCT11 ? mtime : 0);
  b.write(type, 156, 1, 'latin1');
  b.write(linkname, 157, 100, 'latin1');
  b.write('ustar\u000000', 257, 8, 'latin1');
  const maj = f.devmajor ?? 0;
  const min = f.devminor ?? 0;
  if (f.type === '3' || f.type === '4') {
    octal(b, 329, 8, maj <= MAX_OCT7 ? maj : 0);
    octal(b, 337, 8, min <= MAX_OCT7 ? min : 0);
  }
  b.write(prefix, 345, 155, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

/** The header blocks of one entry: a PAX 'x' header (with its data, padded) when needed, then the ustar header. */
export function encodeHeader(f: HeaderFields): Buffer {
  const pax: Array<[string, Buffer]> = [...(f.pax ?? [])];
  const put = (k: string, v: string) => pax.push([k, Buffer.from(v, 'utf8')]);
  const link = f.linkname ?? '';
  let split = plain(f.path) ? splitUstar(f.path) : null;
  if (!split) {
    put('path', f.path);
    split = ['', f.path.slice(-100).replace(/[^\x20-\x7e]/g, '_')];
  }
  let hlink = link;
  if (link.length > 100 || !plain(link)) {
    put('linkpath', link);
    hlink = link.slice(0, 100).replace(/[^\x20-\x7e]/g, '_');
  }
  if (f.uid > MAX_OCT7) put('uid', String(f.uid));
  if (f.gid > MAX_OCT7) put('gid', String(f.gid));
  if (f.size > MAX_OCT11) put('size', String(f.size));
  const sec = f.mtimeSec;
  const fits = sec >= 0n && sec <= BigInt(MAX_OCT11);
  if (f.mtimeNsec !== 0 || !fits) put('mtime', f.mtimeNsec === 0 ? String(sec) : `${sec}.${String(f.mtimeNsec).padStart(9, '0').replace(/0+$/, '')}`);
  if ((f.devmajor ?? 0) > MAX_OCT7) put('SCHILY.devmajor', String(f.devmajor));
  if ((f.devminor ?? 0) > MAX_OCT7) put('SCHILY.devminor', String(f.devminor));
  if (!Number.isSafeInteger(f.size) || f.size < 0) throw new SiError('E_INTERNAL', `tar writer: bad size ${f.size} for ${f.path}`);
  const mtime = fits ? Number(sec) : 0;
  const main = ustarBlock(split[1], split[0], f, f.type, f.size, hlink, mtime);
  if (pax.length === 0) return main;
  const data = encodePax(pax);
  // The PAX header's own name, GNU tar's way (`./PaxHeaders/<base>`), cut to fit: fixed, so the bytes stay the same.
  const base = f.path.replace(/\/$/, '').split('/').pop()!.replace(/[^\x20-\x7e]/g, '_');
  const paxName = `./PaxHeaders/${base}`.slice(0, 100);
  const paxHead = ustarBlock(paxName, '', { ...f, mode: 0o644, uid: 0, gid: 0, type: '0' }, 'x', data.length, '', mtime);
  return Buffer.concat([paxHead, data, Buffer.alloc(padding(data.length)), main]);
}

/** Zero bytes after `n` bytes of data to reach a block boundary. */
export function padding(n: number): number {
  return (BLOCK - (n % BLOCK)) % BLOCK;
}
