// Writes the tar stream of a listed tree, deterministically: entries in listing order, fixed header fields, numeric
// owners, no atime or ctime, PAX only where a field needs it. File data is read into the output buffer as it goes.

import * as fs from 'node:fs';
import { join } from 'node:path';
import { SiError } from '../errors.js';
import { BLOCK, encodeHeader, padding, type HeaderFields } from './tar-write-header.js';
import { looksSparse, scanRegions, sparseMapBlock } from './sparse-scan.js';
import type { ListEntry, TreeListing } from './tree-list.js';
import type { EntryAttrs } from './xattr-read.js';

const CHUNK = 1 << 20;

/** Where the stream goes: each chunk is handed over once and never touched again by the writer. */
export type TarSink = (chunk: Buffer) => void | Promise<void>;

/** Buffers output into 1 MiB chunks; file data is read straight into it. */
class Out {
  private buf = Buffer.allocUnsafe(CHUNK);
  private pos = 0;
  total = 0;
  constructor(private readonly sink: TarSink) {}

  async put(b: Buffer): Promise<void> {
    let off = 0;
    while (off < b.length) {
      const n = Math.min(b.length - off, CHUNK - this.pos);
      b.copy(this.buf, this.pos, off, off + n);
      this.pos += n;
      off += n;
      if (this.pos === CHUNK) await this.flush();
    }
  }

  /** Reads `len` bytes of fd at `at` into the stream; fails naming the file when it is shorter than listed. */
  async read(fd: number, at: number, len: number, path: string, onData?: (n: number) => void): Promise<void> {
    while (len > 0) {
      const want = Math.min(len, CHUNK - this.pos);
      const n = fs.readSync(fd, this.buf, this.pos, want, at);
      if (n === 0) throw new SiError('E_TRANSFER', `${path} shrank while it was being packed: run publish again once it is stable`);
      this.pos += n;
      at += n;
      len -= n;
      onData?.(n);
      if (this.pos === CHUNK) await this.flush();
    }
  }

  async zeros(n: number): Promise<void> {
    if (n > 0) await this.put(Buffer.alloc(n));
  }

  async flush(): Promise<void> {
    if (this.pos === 0) return;
    const chunk = this.buf.subarray(0, this.pos);
    this.total += this.pos;
    // A new buffer each time: the sink may still hold the last one (a pipe's queue).
    this.buf = Buffer.allocUnsafe(CHUNK);
    this.pos = 0;
    await this.sink(chunk);
  }
}

function devParts(rdev: bigint): [number, number] {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return [Number(major), Number(minor)];
}

const TYPE_FLAG = { file: '0', dir: '5', symlink: '2', char: '3', block: '4', fifo: '6' } as const;

/** The header fields of an entry (size 0: the caller sets it for files). */
export function headerFor(e: ListEntry, attrs: EntryAttrs | undefined): HeaderFields {
  const st = e.st;
  const path = e.rel === '' ? './' : e.type === 'dir' ? `./${e.rel}/` : `./${e.rel}`;
  const f: HeaderFields = {
    path, type: e.hardlinkOf !== undefined ? '1' : TYPE_FLAG[e.type], mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), size: 0,
    mtimeSec: st.mtimeNs / 1_000_000_000n, mtimeNsec: Number(st.mtimeNs % 1_000_000_000n),
  };
  if (e.hardlinkOf !== undefined) f.linkname = `./${e.hardlinkOf}`;
  else if (e.type === 'symlink') f.linkname = e.link ?? '';
  if (e.type === 'char' || e.type === 'block') [f.devmajor, f.devminor] = devParts(st.rdev);
  // A hard link carries no attributes: they belong to the file it names.
  if (attrs && e.hardlinkOf === undefined) {
    const pax: Array<[string, Buffer]> = attrs.xattrs.map(([k, v]) => [`SCHILY.xattr.${k}`, v]);
    if (attrs.acl.access) pax.push(['SCHILY.acl.access', Buffer.from(attrs.acl.access)]);
    if (attrs.acl.default) pax.push(['SCHILY.acl.default', Buffer.from(attrs.acl.default)]);
    f.pax = pax;
  }
  return f;
}

/** Streams the archive of a listing into sink; onData counts file bytes read (for progress). Returns the stream's size. */
export async function packTree(listing: TreeListing, attrs: Map<string, EntryAttrs>, sink: TarSink, onData?: (n: number) => void): Promise<number> {
  const out = new Out(sink);
  const scratch = Buffer.allocUnsafe(CHUNK);
  for (const e of listing.entries) {
    const f = headerFor(e, attrs.get(e.rel));
    if (f.type !== '0') {
      await out.put(encodeHeader(f));
      continue;
    }
    const abs = join(listing.root, e.rel);
    const size = Number(e.st.size);
    let fd: number;
    try {
      fd = fs.openSync(abs, 'r');
    } catch (err) {
      throw new SiError('E_PARAM', `${abs} cannot be read: ${(err as Error).message}`, { cause: err });
    }
    try {
      if (!looksSparse(e.st)) {
        f.size = size;
        await out.put(encodeHeader(f));
        await out.read(fd, 0, size, abs, onData);
        await out.zeros(padding(size));
        continue;
      }
      const regions = scanRegions(fd, size, scratch);
      const map = sparseMapBlock(regions);
      const stored = regions.reduce((s, r) => s + r[1], 0);
      f.size = map.length + stored;
      const base = e.rel.split('/').pop()!.replace(/[^\x20-\x7e]/g, '_');
      f.pax = [...(f.pax ?? []), ['GNU.sparse.major', Buffer.from('1')], ['GNU.sparse.minor', Buffer.from('0')], ['GNU.sparse.name', Buffer.from(f.path)], ['GNU.sparse.realsize', Buffer.from(String(size))]];
      f.path = `./GNUSparseFile.0/${base}`.slice(0, 100);
      await out.put(encodeHeader(f));
      await out.put(map);
      for (const [at, len] of regions) await out.read(fd, at, len, abs);
      onData?.(size);
      await out.zeros(padding(stored));
    } finally {
      fs.closeSync(fd);
    }
  }
  await out.zeros(2 * BLOCK);
  await out.flush();
  return out.total;
}
