// The byte source of an extraction: hashes and counts what arrives, and undoes gzip or zstd found by their magic bytes.

import { ReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Runner } from '../../exec/runner.js';
import { TarError } from './header.js';
import { createStreamHash } from './hash.js';

export type Compression = 'none' | 'gzip' | 'zstd';

export interface TarSource {
  /** The uncompressed tar bytes. */
  chunks: AsyncIterable<Buffer>;
  compression: Compression;
  /** Bytes received so far (compressed, as sent) and the sha256 of all of them once the stream has ended (unless the
   *  caller hashes an uncompressed stream itself). */
  received(): number;
  digest(): Promise<string>;
  /** Releases the hash. */
  close(): void;
  /** Resolves when a decompressor process has exited (rejects when it failed). */
  done: Promise<void>;
  /**
   * A plain tar file the caller reads itself (chunks is then empty), in reads of readSize bytes straight into its own
   * memory, counting them with count(): no chunk allocated per read, no copy, no garbage to collect.
   */
  file: FileHandle | null;
  readSize: number;
  count(n: number): void;
}

/**
 * The file a stream would read, opened anew, when the extractor may read it itself: a file stream (fs.createReadStream)
 * not yet read from, over the whole file, of a plain tar. Null otherwise (pipes, sockets, compressed files).
 */
async function openPlainFile(input: Readable): Promise<{ fh: FileHandle; readSize: number } | null> {
  if (!(input instanceof ReadStream)) return null;
  const rs = input as ReadStream & { start?: number; end?: number };
  if (typeof rs.path !== 'string' || rs.bytesRead !== 0 || rs.readableFlowing === true || rs.readableLength > 0 || rs.destroyed) return null;
  if ((rs.start ?? 0) !== 0 || (rs.end ?? Infinity) !== Infinity) return null;
  let fh: FileHandle;
  try {
    // Only a regular file: opening a FIFO here would take the place of the stream's own reader.
    if (!(await stat(rs.path)).isFile()) return null;
    fh = await open(rs.path, 'r');
  } catch {
    return null; // the stream reports it
  }
  const head = Buffer.alloc(4);
  const { bytesRead } = await fh.read(head, 0, 4, 0).catch(() => ({ bytesRead: 0 }));
  if (bytesRead === 0 || sniffCompression(head.subarray(0, bytesRead)) !== 'none') {
    await fh.close();
    return null;
  }
  return { fh, readSize: rs.readableHighWaterMark };
}

let youngGc: (() => void) | null | undefined;

/**
 * Collects the young generation now. Every stream (a file, a pipe, gunzip) hands over each chunk in a Buffer of its own,
 * dead once parsed; V8 frees those only at a GC, which it starts after some 64 MB of such memory: called every few MiB,
 * a minor GC (about half a millisecond) keeps that garbage to a few MiB of resident memory.
 */
export function collectYoung(): void {
  if (youngGc === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as (o?: { type: string }) => void;
      youngGc = () => gc({ type: 'minor' });
    } catch {
      youngGc = null;
    }
  }
  youngGc?.();
}

/** Tells the compression from the first bytes of a stream. */
export function sniffCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/** Wraps the received stream: counts and hashes it as it comes (calling onBytes), decompresses when needed. */
export async function openTarSource(run: Runner, input: Readable, onBytes?: (n: number) => void, signal?: AbortSignal, hashPlain = true, hashAny = true): Promise<TarSource> {
  let count = 0;
  const plain = await openPlainFile(input);
  if (plain) {
    // The stream is not read: its own descriptor goes with it.
    input.destroy();
    return {
      compression: 'none',
      chunks: (async function* () {})(),
      received: () => count,
      digest: () => Promise.reject(new TarError('internal: the stream was not hashed here')),
      close: () => void plain.fh.close().catch(() => undefined),
      done: Promise.resolve(),
      file: plain.fh,
      readSize: plain.readSize,
      count: (n) => {
        count += n;
        onBytes?.(count);
      },
    };
  }
  const hash = createStreamHash();
  let ended = false;
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let first = await it.next();
  while (!first.done && (first.value as Buffer).length === 0) first = await it.next();
  const head: Buffer | null = first.done ? null : (first.value as Buffer);
  if (head === null) {
    hash.close();
    throw new TarError('empty stream: nothing was received');
  }
  const counted = async function* (): AsyncGenerator<Buffer> {
    let chunk: Buffer | null = head;
    while (chunk !== null) {
      if (hashing) hash.update(chunk);
      count += chunk.length;
      onBytes?.(count);
      yield chunk;
      const r = await it.next();
      chunk = r.done ? null : (r.value as Buffer);
    }
    ended = true;
  };
  const compression = sniffCompression(head);
  // An uncompressed stream may be hashed by the caller, where it copies the bytes anyway (hashPlain false).
  const hashing = hashAny && (compression !== 'none' || hashPlain);
  const base = {
    compression,
    received: () => count,
    digest: () => (!hashing ? Promise.reject(new TarError('internal: the stream was not hashed here')) : ended ? hash.digest() : Promise.reject(new TarError('internal: digest asked before the stream ended'))),
    close: () => hash.close(),
    file: null,
    readSize: 0,
    count: () => undefined,
  };
  if (compression === 'none') return { ...base, chunks: counted(), done: Promise.resolve() };
  if (compression === 'gzip') {
    const gunzip = createGunzip();
    // pipeline() passes a failing source on to gunzip, so the reader sees the error.
    pipeline(Readable.from(counted()), gunzip, () => undefined);
    return { ...base, chunks: gunzip, done: Promise.resolve() };
  }
  let gotOut: (s: Readable) => void = () => undefined;
  const outP = new Promise<Readable>((r) => (gotOut = r));
  // A 'readable' listener at once: Node resumes (and so drops) a child's unread stdout when it exits, and a small
  // archive's zstd can exit before the extractor first reads.
  const hold = (s: Readable) => gotOut(s.on('readable', () => undefined));
  const done = run('zstd', ['-d', '-c', '-q'], { stdin: Readable.from(counted()), takeStdout: hold, signal, maxBuffer: 64 * 1024 }).then(() => undefined);
  done.catch(() => undefined);
  const out = await Promise.race([outP, done.then(() => Promise.reject(new TarError('zstd ended without output')))]);
  return { ...base, chunks: out, done };
}
