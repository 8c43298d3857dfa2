// The sha256 of a received stream, computed on a worker thread so hashing does not compete with parsing and writing.

import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

const HASH_WORKER = `
const { parentPort } = require('node:worker_threads');
const hash = require('node:crypto').createHash('sha256');
parentPort.on('message', (m) => {
  if (m === 'end') return parentPort.postMessage({ digest: hash.digest('hex') });
  hash.update(new Uint8Array(m));
  parentPort.postMessage({ ack: m.byteLength });
});
`;

/** Bytes handed to the worker and not yet hashed before update() waits. */
const MAX_PENDING = 16 * 1024 * 1024;

export interface StreamHash {
  /** Adds a chunk (copied: the caller keeps using it); resolves at once unless the worker is far behind. */
  update(chunk: Buffer): Promise<void> | void;
  /** The hex digest of everything added. */
  digest(): Promise<string>;
  close(): void;
}

/** A sha256 on a worker thread; on the main thread when no worker can start. */
export function createStreamHash(): StreamHash {
  let worker: Worker;
  try {
    worker = new Worker(HASH_WORKER, { eval: true });
  } catch {
    return mainThreadHash(createHash('sha256'));
  }
  let pending = 0;
  let wake: (() => void) | null = null;
  let failure: unknown = null;
  let onDigest: ((d: string) => void) | null = null;
  worker.on('message', (m: { ack?: number; digest?: string }) => {
    if (m.ack !== undefined) {
      pending -= m.ack;
      if (pending < MAX_PENDING) wake?.();
    } else if (m.digest !== undefined) onDigest?.(m.digest);
  });
  worker.on('error', (e) => {
    failure = e;
    wake?.();
  });
  return {
    update(chunk) {
      if (failure) throw failure;
      const copy = Buffer.allocUnsafeSlow(chunk.length);
      chunk.copy(copy);
      pending += copy.length;
      worker.postMessage(copy.buffer, [copy.buffer]);
      if (pending < MAX_PENDING) return;
      return new Promise<void>((r) => (wake = r)).then(() => {
        wake = null;
        if (failure) throw failure;
      });
    },
    digest() {
      if (failure) return Promise.reject(failure);
      return new Promise<string>((r) => {
        onDigest = r;
        worker.postMessage('end');
      });
    },
    close() {
      void worker.terminate();
    },
  };
}

function mainThreadHash(h: Hash): StreamHash {
  return {
    update: (chunk) => void h.update(chunk),
    digest: () => Promise.resolve(h.digest('hex')),
    close: () => undefined,
  };
}
