// The sha256 of a received stream, computed on a worker thread so hashing does not compete with parsing and writing.
// A stream that ends within the first slots (the directory, the scripts) is hashed on the main thread: no worker starts.

import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

// Chunks go through fixed slots of one shared buffer; the worker hands each slot back once it is hashed.
const SLOT = 1024 * 1024;
const SLOTS = 8;

const HASH_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const hash = require('node:crypto').createHash('sha256');
const shared = workerData.shared;
parentPort.on('message', (m) => {
  if (m.end) return parentPort.postMessage({ digest: hash.digest('hex') });
  hash.update(new Uint8Array(shared, m.slot * ${SLOT}, m.len));
  parentPort.postMessage({ slot: m.slot });
});
`;

export interface StreamHash {
  /** Adds a chunk (copied: the caller keeps using it); returns a promise only when it had to wait for the worker. */
  update(chunk: Buffer): Promise<void> | void;
  /** The hex digest of everything added. */
  digest(): Promise<string>;
  close(): void;
}

/** A sha256 fed slot by slot to a worker thread, started once the stream outgrows the slots. */
export function createStreamHash(): StreamHash {
  const shared = new SharedArrayBuffer(SLOT * SLOTS);
  let worker: Worker | null = null;
  const free = Array.from({ length: SLOTS }, (_, i) => i).reverse();
  // Full slots not yet sent (before the worker starts), in order.
  const held: Array<{ slot: number; len: number }> = [];
  let wake: (() => void) | null = null;
  let failure: unknown = null;
  let onDigest: ((d: string) => void) | null = null;
  const start = () => {
    const w = new Worker(HASH_WORKER, { eval: true, workerData: { shared } });
    w.on('message', (m: { slot?: number; digest?: string }) => {
      if (m.slot !== undefined) {
        free.push(m.slot);
        wake?.();
      } else if (m.digest !== undefined) onDigest?.(m.digest);
    });
    w.on('error', (e) => {
      failure = e;
      wake?.();
    });
    worker = w;
    for (const h of held.splice(0)) w.postMessage(h);
  };
  let cur = -1;
  let fill = 0;
  const post = () => {
    if (cur < 0) return;
    const msg = { slot: cur, len: fill };
    cur = -1;
    fill = 0;
    if (worker) worker.postMessage(msg);
    else {
      held.push(msg);
      if (free.length === 0) start(); // the stream outgrew the slots: hash from here on on a worker
    }
  };
  /** Copies as much of chunk as fits without waiting; returns how much. */
  const take = (chunk: Buffer): number => {
    let off = 0;
    while (off < chunk.length) {
      if (cur < 0) {
        if (free.length === 0) break;
        cur = free.pop()!;
      }
      const n = chunk.copy(Buffer.from(shared, cur * SLOT + fill, SLOT - fill), 0, off, Math.min(chunk.length, off + SLOT - fill));
      off += n;
      fill += n;
      if (fill === SLOT) post();
    }
    return off;
  };
  const slowly = async (rest: Buffer) => {
    while (rest.length > 0) {
      while (free.length === 0 && cur < 0) {
        if (failure) throw failure;
        await new Promise<void>((r) => (wake = r));
        wake = null;
      }
      rest = rest.subarray(take(rest));
    }
  };
  return {
    update(chunk) {
      if (failure) throw failure;
      const n = take(chunk);
      if (n < chunk.length) return slowly(chunk.subarray(n));
    },
    digest() {
      if (failure) return Promise.reject(failure);
      post();
      if (!worker) {
        const h = createHash('sha256');
        for (const { slot, len } of held.splice(0)) h.update(new Uint8Array(shared, slot * SLOT, len));
        return Promise.resolve(h.digest('hex'));
      }
      const w: Worker = worker;
      return new Promise<string>((r) => {
        onDigest = r;
        w.postMessage({ end: true });
      });
    },
    close() {
      if (worker) void worker.terminate();
    },
  };
}
