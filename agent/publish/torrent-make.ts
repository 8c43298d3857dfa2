// BitTorrent files for SystemImager's torrents directory: a single-file torrent of a .tar.gz (no creation date, so the
// same tarball and tracker give the same bytes) and its info hash for the tracker's whitelist.

import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

export type BencodeValue = number | string | Buffer | BencodeValue[] | { [k: string]: BencodeValue };

/** Bencodes a value; dictionary keys sorted as the format demands. */
export function bencode(v: BencodeValue): Buffer {
  if (typeof v === 'number') return Buffer.from(`i${Math.trunc(v)}e`);
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const b = Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');
    return Buffer.concat([Buffer.from(`${b.length}:`), b]);
  }
  if (Array.isArray(v)) return Buffer.concat([Buffer.from('l'), ...v.map(bencode), Buffer.from('e')]);
  const keys = Object.keys(v).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return Buffer.concat([Buffer.from('d'), ...keys.flatMap((k) => [bencode(k), bencode(v[k]!)]), Buffer.from('e')]);
}

/** Piece length by size: about 1000-2000 pieces, from 256 KiB up to 4 MiB. */
export function pieceLengthFor(size: number): number {
  let len = 256 * 1024;
  while (len < 4 * 1024 * 1024 && size / len > 2000) len *= 2;
  return len;
}

export interface MadeTorrent {
  torrent: Buffer;
  infoHash: string;
  pieceLength: number;
}

/** Makes the torrent of file (named `name` inside the torrent) announcing trackerUrl, reading the file once. */
export function makeTorrent(file: string, name: string, size: number, trackerUrl: string): MadeTorrent {
  const pieceLength = pieceLengthFor(size);
  const hashes: Buffer[] = [];
  const buf = Buffer.allocUnsafe(pieceLength);
  const fd = openSync(file, 'r');
  try {
    for (let at = 0; at < size; at += pieceLength) {
      const want = Math.min(pieceLength, size - at);
      let got = 0;
      while (got < want) {
        const n = readSync(fd, buf, got, want - got, at + got);
        if (n === 0) throw new Error(`${file} is shorter than ${size} bytes`);
        got += n;
      }
      hashes.push(createHash('sha1').update(buf.subarray(0, want)).digest());
    }
  } finally {
    closeSync(fd);
  }
  const info = { length: size, name, 'piece length': pieceLength, pieces: Buffer.concat(hashes) };
  const infoBytes = bencode(info);
  const torrent = bencode({ announce: trackerUrl, 'created by': 'si-agent publish', info });
  return { torrent, infoHash: createHash('sha1').update(infoBytes).digest('hex'), pieceLength };
}
