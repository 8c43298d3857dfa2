// Reads what the agent needs from a .torrent file before the download: name, size, trackers, info hash.

import { createHash } from 'node:crypto';
import { SiError } from '../../errors.js';

export interface TorrentMeta {
  name: string;
  /** Total bytes of the torrent's content. */
  length: number;
  pieceLength: number;
  pieces: number;
  /** HTTP(S) tracker URLs, announce-list first tier order, duplicates dropped. */
  trackers: string[];
  /** SHA-1 of the bencoded info dictionary, as 40 hex digits. */
  infoHash: string;
  /** The pieces' SHA-1 digests, 20 bytes each, in order. */
  pieceHashes: Buffer;
  /** Files in the torrent (a SystemImager torrent holds one tarball). */
  files: number;
}

export type BValue = number | Buffer | BValue[] | Map<string, BValue>;

/** Decodes one bencoded value (a tracker's answer); throws on malformed input. */
export function bdecode(buf: Buffer): BValue {
  return new Decoder(buf).value();
}

/** Parses a .torrent file; a malformed one is an E_TRANSFER naming the file. */
export function parseTorrentMeta(buf: Buffer, file: string): TorrentMeta {
  try {
    const d = new Decoder(buf);
    const root = d.value();
    if (!(root instanceof Map)) throw new Error('not a dictionary');
    const info = root.get('info');
    if (!(info instanceof Map) || !d.infoSpan) throw new Error('no info dictionary');
    const name = text(info.get('name'));
    const pieceLength = num(info.get('piece length'));
    const pieces = info.get('pieces');
    if (!Buffer.isBuffer(pieces) || pieces.length % 20 !== 0) throw new Error('bad pieces field');
    const files = info.get('files');
    const length = Array.isArray(files) ? files.reduce<number>((s, f) => s + num((f as Map<string, BValue>).get('length')), 0) : num(info.get('length'));
    const trackers: string[] = [];
    const list = root.get('announce-list');
    if (Array.isArray(list)) for (const tier of list) if (Array.isArray(tier)) for (const u of tier) trackers.push(text(u));
    if (root.has('announce')) trackers.unshift(text(root.get('announce')));
    const infoHash = createHash('sha1').update(buf.subarray(d.infoSpan[0], d.infoSpan[1])).digest('hex');
    const count = Math.ceil(length / pieceLength);
    if (pieceLength <= 0 || count !== pieces.length / 20) throw new Error(`${pieces.length / 20} piece hashes for ${length} bytes in pieces of ${pieceLength}`);
    return { name, length, pieceLength, pieces: count, trackers: [...new Set(trackers)], infoHash, pieceHashes: Buffer.from(pieces), files: Array.isArray(files) ? files.length : 1 };
  } catch (err) {
    throw new SiError('E_TRANSFER', `${file} is not a valid torrent file: ${(err as Error).message}`, { cause: err });
  }
}

function text(v: BValue | undefined): string {
  if (!Buffer.isBuffer(v)) throw new Error('expected a string');
  return v.toString('utf8');
}

function num(v: BValue | undefined): number {
  if (typeof v !== 'number') throw new Error('expected an integer');
  return v;
}

class Decoder {
  private pos = 0;
  infoSpan: [number, number] | null = null;
  constructor(private readonly buf: Buffer) {}

  value(depth = 0): BValue {
    const c = this.buf[this.pos];
    if (c === undefined) throw new Error('truncated');
    if (c === 0x69) {
      const end = this.buf.indexOf(0x65, this.pos);
      if (end < 0) throw new Error('truncated integer');
      const n = Number(this.buf.toString('ascii', this.pos + 1, end));
      if (!Number.isSafeInteger(n)) throw new Error('bad integer');
      this.pos = end + 1;
      return n;
    }
    if (c === 0x6c || c === 0x64) {
      this.pos++;
      const list: BValue[] = [];
      const map = new Map<string, BValue>();
      while (this.buf[this.pos] !== 0x65) {
        if (this.pos >= this.buf.length) throw new Error('truncated');
        if (c === 0x6c) list.push(this.value(depth + 1));
        else {
          const key = (this.value(depth + 1) as Buffer).toString('utf8');
          const start = this.pos;
          map.set(key, this.value(depth + 1));
          if (depth === 0 && key === 'info') this.infoSpan = [start, this.pos];
        }
      }
      this.pos++;
      return c === 0x6c ? list : map;
    }
    const colon = this.buf.indexOf(0x3a, this.pos);
    const len = Number(this.buf.toString('ascii', this.pos, colon));
    if (colon < 0 || !Number.isSafeInteger(len) || colon + 1 + len > this.buf.length) throw new Error('bad string');
    this.pos = colon + 1 + len;
    return this.buf.subarray(colon + 1, this.pos);
  }
}
