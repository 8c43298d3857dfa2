// Turns a decoded header plus its PAX records and GNU long names into one entry: type, path, owner, times, xattrs, sparse map.

import { TarError, type RawHeader } from './header.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'skip';

export interface TarEntry {
  /** The path as the archive has it (not yet checked or normalized). */
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch, fractions kept from PAX. */
  mtime: number;
  atime?: number;
  /** The file's real size (a sparse file's size with its holes). */
  size: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from PAX `SCHILY.xattr.NAME`, values as bytes (POSIX ACLs among them). */
  xattrs: Array<[string, Buffer]>;
  /** POSIX ACLs as text from PAX `SCHILY.acl.access` / `SCHILY.acl.default`. */
  acl: { access?: string; default?: string };
  sparse: boolean;
}

const TYPES: Record<string, EntryType> = { '0': 'file', '7': 'file', S: 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', D: 'dir', '6': 'fifo', V: 'skip', M: 'skip', N: 'skip' };

function paxNumber(v: Buffer, key: string, path: string): number {
  const s = v.toString('latin1');
  if (!/^-?\d+(\.\d+)?$/.test(s)) throw new TarError(`PAX ${key} is not a number: ${JSON.stringify(s)}`, path);
  return Number(s);
}

function pairsFrom(text: string, path: string): Array<[number, number]> {
  const nums = text === '' ? [] : text.split(',').map(Number);
  if (nums.length % 2 !== 0 || nums.some((n) => !Number.isSafeInteger(n) || n < 0)) throw new TarError(`bad GNU.sparse.map ${JSON.stringify(text)}`, path);
  const out: Array<[number, number]> = [];
  for (let i = 0; i < nums.length; i += 2) out.push([nums[i]!, nums[i + 1]!]);
  return out;
}

export interface BuiltEntry {
  entry: TarEntry;
  /** Bytes of data that follow the header in the archive (before padding). */
  storedSize: number;
  /** Where the stored data goes in the file, for sparse entries. */
  regions?: Array<[number, number]>;
  /** PAX sparse 1.0: the map is at the start of the data. */
  sparse10: boolean;
}

/** Merges a header with its PAX records (later records win, repeated sparse ones accumulate) and GNU long names. */
export function buildEntry(h: RawHeader, pax: Array<[string, Buffer]>, longName: string | null, longLink: string | null, regions?: Array<[number, number]>): BuiltEntry {
  let path = longName ?? h.name;
  let linkname = longLink ?? h.linkname;
  const e: TarEntry = {
    path, type: TYPES[h.type] ?? 'file', mode: h.mode & 0o7777, uid: h.uid, gid: h.gid, mtime: h.mtime, size: h.size, linkname,
    devmajor: h.devmajor, devminor: h.devminor, xattrs: [], acl: {}, sparse: h.type === 'S',
  };
  let storedSize = h.size;
  let sparseName: string | null = null;
  let realSize: number | null = h.sparse ? h.sparse.realSize : null;
  let sparseMajor: number | null = null;
  const offsets: number[] = [];
  const lengths: number[] = [];
  let map: Array<[number, number]> | null = regions ?? (h.sparse ? h.sparse.map : null);
  for (const [key, v] of pax) {
    const text = () => v.toString('utf8');
    if (key === 'path') path = text();
    else if (key === 'linkpath') linkname = text();
    else if (key === 'size') storedSize = paxNumber(v, key, path);
    else if (key === 'uid') e.uid = paxNumber(v, key, path);
    else if (key === 'gid') e.gid = paxNumber(v, key, path);
    else if (key === 'mtime') e.mtime = paxNumber(v, key, path);
    else if (key === 'atime') e.atime = paxNumber(v, key, path);
    else if (key.startsWith('SCHILY.xattr.')) e.xattrs.push([key.slice('SCHILY.xattr.'.length), v]);
    else if (key === 'SCHILY.acl.access') e.acl.access = text();
    else if (key === 'SCHILY.acl.default') e.acl.default = text();
    else if (key === 'SCHILY.devmajor') e.devmajor = paxNumber(v, key, path);
    else if (key === 'SCHILY.devminor') e.devminor = paxNumber(v, key, path);
    else if (key === 'GNU.sparse.name') sparseName = text();
    else if (key === 'GNU.sparse.size' || key === 'GNU.sparse.realsize') realSize = paxNumber(v, key, path);
    else if (key === 'GNU.sparse.major') sparseMajor = paxNumber(v, key, path);
    else if (key === 'GNU.sparse.map') map = pairsFrom(text(), path);
    else if (key === 'GNU.sparse.offset') offsets.push(paxNumber(v, key, path));
    else if (key === 'GNU.sparse.numbytes') lengths.push(paxNumber(v, key, path));
  }
  if (offsets.length > 0) map = offsets.map((o, i) => [o, lengths[i] ?? 0]);
  if (sparseName !== null) path = sparseName;
  e.path = path;
  e.linkname = linkname;
  const sparse10 = sparseMajor === 1;
  if (realSize !== null && (map !== null || sparse10)) {
    e.sparse = true;
    e.size = realSize;
  } else e.size = storedSize;
  if (e.type === 'hardlink' || e.type === 'symlink' || e.type === 'dir' || e.type === 'char' || e.type === 'block' || e.type === 'fifo') e.size = 0;
  return { entry: e, storedSize, regions: e.sparse && !sparse10 ? (map ?? []) : undefined, sparse10: e.sparse && sparse10 };
}

/** Reads the PAX sparse 1.0 map at the start of the data (count, then offset/length pairs, one decimal per line); null if incomplete. */
export function readSparse10Map(buf: Buffer, path: string): Array<[number, number]> | null {
  const nums: number[] = [];
  let start = 0;
  let want = -1;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    const s = buf.toString('latin1', start, i);
    if (!/^\d+$/.test(s)) throw new TarError(`bad sparse map line ${JSON.stringify(s)}`, path);
    nums.push(Number(s));
    start = i + 1;
    if (want < 0) want = 1 + 2 * nums[0]!;
    if (nums.length === want) {
      const out: Array<[number, number]> = [];
      for (let k = 1; k < nums.length; k += 2) out.push([nums[k]!, nums[k + 1]!]);
      return out;
    }
  }
  return null;
}
