// Decodes tar header blocks (ustar, GNU, old GNU sparse) and PAX records, keeping binary values as bytes.

import { SiError } from '../../errors.js';

export const BLOCK = 512;

/** A tar archive that cannot be read or an entry that must not be written; names the entry when there is one. */
export class TarError extends SiError {
  readonly entry: string | undefined;
  constructor(message: string, entry?: string) {
    super('E_TRANSFER', entry === undefined ? message : `tar entry ${JSON.stringify(entry)}: ${message}`);
    this.name = 'TarError';
    this.entry = entry;
  }
}

export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  /** The type flag as a character ('0', '5', 'L', 'x', 'S', ...). */
  type: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** Old GNU sparse ('S'): the map in this header, whether extension blocks follow, and the file's real size. */
  sparse?: { map: Array<[number, number]>; extended: boolean; realSize: number };
}

/** Reads a NUL/space-terminated string field as UTF-8. */
function str(b: Buffer, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return b.toString('utf8', off, end);
}

/** Reads an octal field, or a base-256 one (high bit of the first byte set, GNU's form for big values). */
export function num(b: Buffer, off: number, len: number): number {
  if (b[off]! & 0x80) {
    let v = b[off]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
    return v;
  }
  let v = 0;
  let i = off;
  while (i < off + len && (b[i] === 0x20 || b[i] === 0)) i++;
  for (; i < off + len; i++) {
    const c = b[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return NaN;
    v = v * 8 + (c - 0x30);
  }
  return v;
}

/** True when the block is all zeros (end-of-archive marker). */
export function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i += 8) if (b.readBigUInt64LE(i) !== 0n) return false;
  return true;
}

function checksumOk(b: Buffer): boolean {
  const want = num(b, 148, 8);
  // The checksum field counts as eight spaces; some old tars summed signed bytes (checked only when unsigned fails).
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += b[i]!;
  for (let i = 156; i < BLOCK; i++) sum += b[i]!;
  if (want === sum) return true;
  let high = 0;
  for (let i = 0; i < BLOCK; i++) if ((i < 148 || i >= 156) && b[i]! > 127) high++;
  return want === sum - 256 * high;
}

/** Reads up to `count` (offset, length) pairs of 12-byte octal fields starting at off; stops at an empty pair. */
export function sparsePairs(b: Buffer, off: number, count: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    const o = off + i * 24;
    if (b[o] === 0) break;
    out.push([num(b, o, 12), num(b, o + 12, 12)]);
  }
  return out;
}

/** Decodes one 512-byte header; throws TarError on a bad checksum (a corrupt stream or not a tar at all). */
export function decodeHeader(b: Buffer, at: number): RawHeader {
  if (!checksumOk(b)) throw new TarError(`corrupt or not a tar archive: bad header checksum at byte ${at}`);
  const magic = b.toString('latin1', 257, 263);
  let name = str(b, 0, 100);
  const type = b[156] === 0 ? '0' : String.fromCharCode(b[156]!);
  if (magic === 'ustar\0' && b[345] !== 0) name = `${str(b, 345, 155)}/${name}`;
  const h: RawHeader = {
    name,
    mode: num(b, 100, 8),
    uid: num(b, 108, 8),
    gid: num(b, 116, 8),
    size: num(b, 124, 12),
    mtime: num(b, 136, 12),
    type,
    linkname: str(b, 157, 100),
    uname: str(b, 265, 32),
    gname: str(b, 297, 32),
    devmajor: num(b, 329, 8),
    devminor: num(b, 337, 8),
  };
  if (type === 'S') h.sparse = { map: sparsePairs(b, 386, 4), extended: b[482] !== 0, realSize: num(b, 483, 12) };
  for (const k of ['mode', 'uid', 'gid', 'size', 'mtime'] as const) {
    if (!Number.isFinite(h[k])) throw new TarError(`corrupt header at byte ${at}: field ${k} is not a number`, name);
  }
  return h;
}

/** Parses PAX extended header records (`LEN key=value\n`); values stay bytes (xattrs are binary). Repeated keys keep order. */
export function parsePax(buf: Buffer, entryHint: string): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] === 0) break;
    const sp = buf.indexOf(0x20, pos);
    const len = sp > pos ? Number(buf.toString('latin1', pos, sp)) : NaN;
    if (!Number.isInteger(len) || len <= 0 || pos + len > buf.length || buf[pos + len - 1] !== 0x0a) {
      throw new TarError(`corrupt PAX header at record byte ${pos}`, entryHint);
    }
    const rec = buf.subarray(sp + 1, pos + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw new TarError(`corrupt PAX record without "=" at byte ${pos}`, entryHint);
    out.push([rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1))]);
    pos += len;
  }
  return out;
}
