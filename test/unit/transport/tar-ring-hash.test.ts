// RingHash: records hashed oldest first, the floor under the oldest waiting, the digest of all of them in order.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RingHash } from '../../../agent/transport/tar/ring-hash.js';

describe('RingHash', () => {
  it('hashes the queued records in order, holds the ring from the oldest one waiting, digests the rest at the end', () => {
    const buf = Buffer.alloc(4096);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 31 + 7) & 0xff;
    const h = new RingHash(buf);
    expect(h.floor()).toBe(Infinity);
    expect(h.hashOne()).toBe(false);
    // Records out of ring order (the ring wrapped): the hash follows the queue, not the offsets.
    const recs: Array<[number, number, number]> = [];
    for (let k = 0; k < 5000; k++) recs.push([(k * 977) % 3000, 1 + (k % 900), 10_000 + k * 1000]);
    for (const r of recs) h.add(...r);
    expect(h.floor()).toBe(10_000);
    expect(h.hashOne()).toBe(true);
    expect(h.floor()).toBe(11_000);
    for (let k = 1; k < 4000; k++) h.hashOne();
    expect(h.floor()).toBe(10_000 + 4000 * 1000);
    const want = createHash('sha256');
    for (const [off, len] of recs) want.update(buf.subarray(off, off + len));
    expect(h.digest()).toBe(want.digest('hex'));
    expect(h.floor()).toBe(Infinity);
  });
});
