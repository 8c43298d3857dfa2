// The sha256 of a received stream, computed on the main thread as chunks arrive (no copy: the chunk is hashed where it
// lies; OpenSSL's SHA extensions do about 1.8 GB/s here, a worker thread cost more in copies and messages than it saved).

import { createHash } from 'node:crypto';

export interface StreamHash {
  /** Adds a chunk. */
  update(chunk: Buffer): void;
  /** The hex digest of everything added. */
  digest(): Promise<string>;
  close(): void;
}

/** A sha256 fed chunk by chunk. */
export function createStreamHash(): StreamHash {
  const hash = createHash('sha256');
  let digest: string | null = null;
  return {
    update(chunk) {
      hash.update(chunk);
    },
    digest() {
      digest ??= hash.digest('hex');
      return Promise.resolve(digest);
    },
    close() {},
  };
}
