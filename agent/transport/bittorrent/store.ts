// A torrent's staged tarball on disk: verified pieces written at their offsets, read back for the extractor and for
// peers, buffers reused (piece buffers while they fill, block buffers while they are sent), every pending I/O awaited
// before the file closes; and the rate meter the swarm's figures use.

import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { SiError } from '../../errors.js';
import type { TorrentMeta } from './meta.js';
import { BLOCK } from './wire.js';

/** Block buffers kept for reuse at most (4 MiB). */
const BLOCK_POOL = 256;

export class PieceStore {
  private readonly pieceBufs: Buffer[] = [];
  private readonly blockBufs: Buffer[] = [];
  private readonly pending = new Set<Promise<unknown>>();

  private constructor(private readonly meta: TorrentMeta, private readonly fh: FileHandle) {}

  /** Opens the staged file: emptied for a download, as it is for seeding existing data. */
  static async open(file: string, meta: TorrentMeta, existing: boolean): Promise<PieceStore> {
    return new PieceStore(meta, await open(file, existing ? 'r+' : 'w+'));
  }

  /** Bytes of piece i (the last one is shorter). */
  pieceLength(i: number): number {
    return i === this.meta.pieces - 1 ? this.meta.length - i * this.meta.pieceLength : this.meta.pieceLength;
  }

  /** Whether data is what the torrent says piece i holds. */
  matches(i: number, data: Buffer): boolean {
    return createHash('sha1').update(data).digest().equals(this.meta.pieceHashes.subarray(i * 20, i * 20 + 20));
  }

  /** A buffer for a piece being fetched (give it back with releasePiece). */
  takePieceBuffer(): Buffer {
    return this.pieceBufs.pop() ?? Buffer.allocUnsafe(this.meta.pieceLength);
  }
  releasePiece(buf: Buffer): void {
    this.pieceBufs.push(buf);
  }

  /** Writes a verified piece at its offset. */
  writePiece(i: number, data: Buffer): Promise<unknown> {
    return this.track(this.fh.write(data, 0, data.length, i * this.meta.pieceLength));
  }

  /** The stored bytes of pieces from..from+count-1, read at once. */
  async readPieces(from: number, count: number): Promise<Buffer> {
    const start = from * this.meta.pieceLength;
    const end = Math.min(this.meta.length, (from + count) * this.meta.pieceLength);
    const buf = Buffer.allocUnsafe(end - start);
    const { bytesRead } = await this.track(this.fh.read(buf, 0, buf.length, start));
    if (bytesRead !== buf.length) throw new SiError('E_TRANSFER', `BitTorrent ${this.meta.name}: reading pieces ${from}-${from + count - 1} back gave ${bytesRead} of ${buf.length} bytes`);
    return buf;
  }

  /** A block a peer asked for, in a pooled buffer when it has the usual size; `done` gives the buffer back. */
  async readBlock(i: number, begin: number, length: number): Promise<{ buf: Buffer; done: () => void }> {
    const pooled = length === BLOCK;
    const buf = (pooled && this.blockBufs.pop()) || Buffer.allocUnsafe(length);
    const done = () => void (pooled && this.blockBufs.length < BLOCK_POOL && this.blockBufs.push(buf));
    try {
      await this.track(this.fh.read(buf, 0, length, i * this.meta.pieceLength + begin));
    } catch (err) {
      done();
      throw err;
    }
    return { buf, done };
  }

  /** Seeding from a file that is already there: each piece read and hashed; calls have(i) for the good ones. */
  async checkExisting(have: (i: number, length: number) => void): Promise<void> {
    const buf = Buffer.allocUnsafe(this.meta.pieceLength);
    for (let i = 0; i < this.meta.pieces; i++) {
      const len = this.pieceLength(i);
      const { bytesRead } = await this.fh.read(buf, 0, len, i * this.meta.pieceLength);
      if (bytesRead === len && this.matches(i, buf.subarray(0, len))) have(i, len);
    }
  }

  /** Waits for every pending read and write, then closes the file. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    await this.fh.close().catch(() => undefined);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    const forget = () => this.pending.delete(p);
    p.then(forget, forget);
    return p;
  }
}

/** Bytes per second over the last five seconds. */
export class RateMeter {
  private buckets = new Float64Array(5);
  private second = Math.floor(Date.now() / 1000);
  add(n: number): void {
    this.roll();
    this.buckets[this.second % 5]! += n;
  }
  rate(): number {
    this.roll();
    let s = 0;
    for (const b of this.buckets) s += b;
    return s / 5;
  }
  private roll(): void {
    const now = Math.floor(Date.now() / 1000);
    for (let t = this.second + 1; t <= now && t <= this.second + 5; t++) this.buckets[t % 5] = 0;
    this.second = now;
  }
}
