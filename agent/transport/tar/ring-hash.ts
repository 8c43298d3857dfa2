// The stream's sha256 taken from the ring by the main thread, late: each raw record stays in the ring (is not reused)
// until hashed, and the ring hashes when the main thread would otherwise wait for the writer, and the rest at the end.

import { createHash } from 'node:crypto';

/** The raw records of a ring not yet hashed, oldest first, and the hash of those before. */
export class RingHash {
  private hash = createHash('sha256');
  /** [offset in the ring, length, absolute start of the record] of each record not yet hashed. */
  private pending: number[] = [];
  private at = 0;

  constructor(private readonly buf: Buffer) {}

  /** Queues a raw record's bytes (off, len in the ring; the record starts at the absolute position start). */
  add(off: number, len: number, start: number): void {
    this.pending.push(off, len, start);
  }

  /** True when a record waits to be hashed. */
  get waiting(): boolean {
    return this.at < this.pending.length;
  }

  /** Hashes the oldest record waiting (it may then be reused); false when there was none. */
  hashOne(): boolean {
    const p = this.pending;
    const i = this.at;
    if (i >= p.length) return false;
    this.hash.update(this.buf.subarray(p[i]!, p[i]! + p[i + 1]!));
    this.at = i + 3;
    if (this.at >= 3 * 1024) {
      p.splice(0, this.at);
      this.at = 0;
    }
    return true;
  }

  /** Where the oldest record waiting begins (absolute; nothing from there on may be reused), or Infinity. */
  floor(): number {
    return this.waiting ? this.pending[this.at + 2]! : Infinity;
  }

  /** The hex digest, once every record is hashed. */
  digest(): string {
    while (this.hashOne());
    return this.hash.digest('hex');
  }
}
