// Downloads one torrent's tarball and extracts it while it arrives: the file stream yields verified pieces in order.

import { Readable } from 'node:stream';
import type { Torrent, Wire } from 'webtorrent';
import { SiError } from '../errors.js';
import type { SiEvent } from '../report/events.js';
import { extractTar, type ExtractCtx, type ExtractResult } from './tar-extract.js';
import { addTorrent, type Peer } from './bittorrent-client.js';
import { verifiedPieceStream } from './bittorrent-pieces.js';
import { preferPeersOverServer } from './bittorrent-prefer.js';
import type { TorrentMeta } from './bittorrent-meta.js';

export interface TorrentTally {
  /** Bytes received from the image server's seeder and from every other peer (before hash checks). */
  fromServer: number;
  fromPeers: number;
  /** Pieces that failed their hash check and were fetched again. */
  rejected: number;
}

export interface DownloadOptions {
  peer: Peer;
  torrentFile: Buffer;
  meta: TorrentMeta;
  /** Where the tarball is stored while it downloads and seeds. */
  stagingDir: string;
  dest: string;
  /** Addresses of the image server (its seeder's bytes are counted apart). */
  serverAddresses: string[];
  /** Progress events phase name, or none. */
  phase?: string;
  pollMs: number;
  /** No verified byte for this long with the download unfinished: an error (default 120 s). */
  stallMs?: number;
  skip?: (rel: string) => boolean;
  signal?: AbortSignal;
  onFigures?: (t: Torrent) => void;
  /** How the extractor reads: verified pieces in order, leaving piece choice to rarest-first (default), or webtorrent's
   *  file stream, which makes the next pieces critical (every client then asks the seeder for the same pieces). */
  reader?: 'pieces' | 'file-stream';
}

export interface Download {
  torrent: Torrent;
  tally: TorrentTally;
  extracted: ExtractResult;
}

/** Adds the torrent, streams its file through the extractor as pieces are verified, and leaves it seeding. */
export async function downloadAndExtract(ctx: ExtractCtx & { report: NonNullable<ExtractCtx['report']> }, o: DownloadOptions): Promise<Download> {
  const t = await addTorrent(o.peer, o.torrentFile, o.stagingDir);
  const tally: TorrentTally = { fromServer: 0, fromPeers: 0, rejected: 0 };
  const serverWire = (wire: Wire) => o.serverAddresses.includes(wire.remoteAddress?.replace(/^::ffff:/, ''));
  const countWire = (wire: Wire) => {
    const fromServer = serverWire(wire);
    wire.on('download', (n: number) => {
      if (fromServer) tally.fromServer += n;
      else tally.fromPeers += n;
    });
  };
  const allowServer = preferPeersOverServer(t, serverWire);
  t.wires.forEach(countWire);
  t.on('wire', countWire);
  t.on('warning', (err: Error) => {
    const failed = /Piece (\d+) failed verification/.exec(err.message);
    if (failed) {
      tally.rejected++;
      allowServer(Number(failed[1]));
      ctx.report.warn(`BitTorrent ${o.meta.name}: ${err.message} (hash mismatch): discarded and fetched again`);
    } else ctx.report.debug(`BitTorrent ${o.meta.name}: ${err.message}`);
  });
  if (t.files.length !== 1) throw new SiError('E_TRANSFER', `torrent ${o.meta.name} holds ${t.files.length} files; a SystemImager torrent holds one tarball`);
  const file = t.files[0]!;
  const stallMs = o.stallMs ?? 120_000;
  let lastBytes = -1;
  let lastChange = Date.now();
  let stalled: (err: Error) => void = () => undefined;
  const stallPromise = new Promise<never>((_, reject) => (stalled = reject));
  const started = Date.now();
  const tick = () => {
    if (t.downloaded !== lastBytes) {
      lastBytes = t.downloaded;
      lastChange = Date.now();
    } else if (!t.done && Date.now() - lastChange > stallMs) {
      stalled(new SiError('E_TRANSFER', `BitTorrent ${o.meta.name}: no verified piece in ${Math.round(stallMs / 1000)} s (${t.numPeers} peers, ${t.downloaded} of ${o.meta.length} bytes)`));
    }
    o.onFigures?.(t);
    if (o.phase) ctx.report.emit(progressEvent(o.phase, t, o.meta.length, started));
  };
  const timer = setInterval(tick, o.pollMs);
  const torrentError = new Promise<never>((_, reject) => t.once('error', (err: Error) => reject(new SiError('E_TRANSFER', `BitTorrent ${o.meta.name}: ${err.message}`, { cause: err }))));
  try {
    const stream = o.reader === 'file-stream' ? asBuffers(file.createReadStream()) : verifiedPieceStream(t);
    const extracted = await Promise.race([extractTar(ctx, stream, o.dest, { signal: o.signal, skip: o.skip }), stallPromise, torrentError]);
    tick();
    return { torrent: t, tally, extracted };
  } finally {
    clearInterval(timer);
    stallPromise.catch(() => undefined);
    torrentError.catch(() => undefined);
  }
}

/** A progress event from the torrent's figures: percent, bytes, download rate, ETA, and upload rate with peers. */
export function progressEvent(phase: string, t: Torrent, total: number, started: number): SiEvent {
  const done = Math.min(t.downloaded, total);
  const elapsedS = Math.max(0.001, (Date.now() - started) / 1000);
  const rate = t.downloadSpeed > 0 ? t.downloadSpeed : done / elapsedS;
  const etaS = done >= total ? 0 : rate > 0 ? Math.round((total - done) / rate) : null;
  return {
    type: 'progress',
    phase,
    percent: total > 0 ? (done / total) * 100 : 100,
    bytesDone: done,
    bytesTotal: total,
    speedKBs: rate / 1024,
    etaS,
    extra: `up ${(t.uploadSpeed / 1024).toFixed(0)} KB/s, ${t.numPeers} peer${t.numPeers === 1 ? '' : 's'}`,
  };
}

/** webtorrent's file stream yields Uint8Arrays; the extractor reads Buffers (same bytes, no copy). */
function asBuffers(src: Readable): Readable {
  return Readable.from(
    (async function* () {
      for await (const c of src as AsyncIterable<Uint8Array>) yield Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    })(),
    { objectMode: false },
  );
}
