// Packs one tree into its artefact files: the tar stream through `zstd` (the runner, streaming) into a .tar.zst, and
// when asked the same stream through gzip (node:zlib) into a .tar.gz for BitTorrent; sha256 and size taken as written.

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { PassThrough, Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Runner } from '../exec/runner.js';
import { SiError } from '../errors.js';
import { packTree } from './tar-pack.js';
import type { TreeListing } from './tree-list.js';
import type { EntryAttrs } from './xattr-read.js';

/** zstd's level: GNU tar --zstd's own (3), single thread, no dictionary: the same stream gives the same bytes. */
export const ZSTD_ARGS = ['-q', '-3', '-T1', '--no-progress', '-c'];

export interface PackedFile {
  size: number;
  sha256: string;
}

export interface PackResult {
  zst: PackedFile;
  gz?: PackedFile;
  /** Bytes of the uncompressed tar stream. */
  tarBytes: number;
}

/** Counts and hashes what passes through on its way to a file. */
function hashing(): { t: Transform; result: () => PackedFile } {
  const h = createHash('sha256');
  let size = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  return { t, result: () => ({ size, sha256: h.digest('hex') }) };
}

async function writeTo(w: Writable, chunk: Buffer): Promise<void> {
  if (!w.write(chunk)) await once(w, 'drain');
}

/** Packs listing into zstPath (and gzPath when given); never holds more than a few chunks of the stream in memory. */
export async function packArtefact(run: Runner, listing: TreeListing, attrs: Map<string, EntryAttrs>, zstPath: string, gzPath: string | null, onData?: (n: number) => void, signal?: AbortSignal): Promise<PackResult> {
  const tarIn = new PassThrough({ highWaterMark: 4 << 20 });
  const zstFile = createWriteStream(zstPath, { mode: 0o644 });
  const zst = hashing();
  let gotOut: (s: Readable) => void = () => undefined;
  const outP = new Promise<Readable>((r) => (gotOut = r));
  const zstdDone = run('zstd', ZSTD_ARGS, { stdin: tarIn, takeStdout: (s) => gotOut(s), signal, maxBuffer: 64 * 1024 });
  zstdDone.catch(() => undefined);
  const written = outP.then((s) => pipeline(s, zst.t, zstFile));
  written.catch(() => undefined);
  let gz: { t: Transform; result: () => PackedFile } | null = null;
  let gzip: ReturnType<typeof createGzip> | null = null;
  let gzWritten: Promise<void> | null = null;
  if (gzPath) {
    const gzFile = createWriteStream(gzPath, { mode: 0o644 });
    gz = hashing();
    gzip = createGzip({ level: 6 });
    gzWritten = pipeline(gzip, gz.t, gzFile);
    gzWritten.catch(() => undefined);
  }
  let tarBytes: number;
  try {
    const packing = packTree(listing, attrs, async (chunk) => {
      if (signal?.aborted) throw new SiError('E_INTERNAL', 'publish aborted');
      await Promise.all([writeTo(tarIn, chunk), gzip ? writeTo(gzip, chunk) : undefined]);
    }, onData);
    // A compressor that dies stops reading: its failure must end the wait for room in its input.
    const failed = (p: Promise<unknown> | null) => (p ? p.then(() => new Promise<never>(() => undefined)) : new Promise<never>(() => undefined));
    tarBytes = await Promise.race([packing, failed(zstdDone), failed(written), failed(gzWritten)]);
    tarIn.end();
    gzip?.end();
  } catch (err) {
    tarIn.destroy();
    gzip?.destroy();
    await Promise.allSettled([zstdDone, written, gzWritten]);
    throw err;
  }
  await zstdDone;
  await written;
  if (gzWritten) await gzWritten;
  return { zst: zst.result(), ...(gz ? { gz: gz.result() } : {}), tarBytes };
}
