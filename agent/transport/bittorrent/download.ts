// Downloads one torrent's tarball and extracts it while it arrives: the extractor reads verified pieces in order.

import { join } from 'node:path';
import { SiError } from '../../errors.js';
import type { SiEvent } from '../../report/events.js';
import { extractTar, type ExtractCtx, type ExtractResult } from '../tar/extract.js';
import { addTorrent, type Peer } from './client.js';
import { verifiedPieceStream } from './pieces.js';
import type { TorrentMeta } from './meta.js';
import type { Swarm, SwarmTally } from './swarm.js';

export interface DownloadOptions {
  peer: Peer;
  meta: TorrentMeta;
  /** The HTTP tracker that answered (bittorrent-tracker.ts). */
  tracker: string;
  /** Where the tarball is stored while it downloads and seeds. */
  stagingDir: string;
  /** Where the tarball is extracted as it arrives; null keeps the tarball only (a 4.3 master's bittorrent_get_file). */
  dest: string | null;
  /** Addresses of the image server (its seeder is spared and its bytes are counted apart). */
  serverAddresses: string[];
  /** Progress events phase name, or none. */
  phase?: string;
  pollMs: number;
  /** No verified byte for this long with the download unfinished: an error (default 120 s). */
  stallMs?: number;
  skip?: (rel: string) => boolean;
  signal?: AbortSignal;
  onFigures?: (s: Swarm) => void;
  /** Called with the swarm as soon as it exists (its tally is live: right on failure too). */
  onSwarm?: (s: Swarm) => void;
}

export interface Download {
  swarm: Swarm;
  tally: SwarmTally;
  /** Null when only the tarball was wanted (dest null). */
  extracted: ExtractResult | null;
}

/** Adds the torrent, streams its verified pieces through the extractor, and leaves it seeding. */
export async function downloadAndExtract(ctx: ExtractCtx & { report: NonNullable<ExtractCtx['report']> }, o: DownloadOptions): Promise<Download> {
  const servers = new Set(o.serverAddresses);
  const s = await addTorrent(o.peer, o.meta, {
    file: join(o.stagingDir, o.meta.name),
    tracker: o.tracker,
    isServer: (host) => servers.has(host),
    warn: (m) => ctx.report.warn(m),
    debug: (m) => ctx.report.debug(m),
  });
  o.onSwarm?.(s);
  const stallMs = o.stallMs ?? 120_000;
  let lastBytes = -1;
  let lastChange = Date.now();
  let fail: (err: Error) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const started = Date.now();
  const tick = () => {
    if (s.downloaded !== lastBytes) {
      lastBytes = s.downloaded;
      lastChange = Date.now();
    } else if (!s.done && Date.now() - lastChange > stallMs) {
      fail(new SiError('E_TRANSFER', `BitTorrent ${o.meta.name}: no verified piece in ${Math.round(stallMs / 1000)} s (${s.numPeers} peers, ${s.downloaded} of ${o.meta.length} bytes)`));
    }
    o.onFigures?.(s);
    if (o.phase) ctx.report.emit(progressEvent(o.phase, s, o.meta.length, started));
  };
  const timer = setInterval(tick, o.pollMs);
  // An abort (SIGTERM, the install's failure elsewhere) stops the swarm at once: the reader and extractor end with it.
  const onAbort = () => {
    fail(new SiError('E_TRANSFER', `BitTorrent ${o.meta.name}: stopped (${s.downloaded} of ${o.meta.length} bytes verified)`));
    void s.stop('install stopped');
  };
  if (o.signal?.aborted) onAbort();
  else o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // Every piece has passed its SHA-1 check against the torrent: no second digest of the whole stream.
    const work = o.dest === null ? drain(verifiedPieceStream(s)) : extractTar(ctx, verifiedPieceStream(s), o.dest, { signal: o.signal, skip: o.skip, hashStream: false });
    const extracted = await Promise.race([work, failed]);
    tick();
    return { swarm: s, tally: s.tally, extracted };
  } catch (err) {
    // The swarm stops with the download: no more bytes are fetched for an install that failed.
    await s.stop('download failed');
    throw err;
  } finally {
    clearInterval(timer);
    o.signal?.removeEventListener('abort', onAbort);
    failed.catch(() => undefined);
  }
}

/** Reads the verified pieces to the end (they are in the staged file already); the download is done when it ends. */
async function drain(stream: AsyncIterable<unknown>): Promise<null> {
  for await (const _ of stream) {
    // nothing to do with the bytes: the store wrote them
  }
  return null;
}

/** A progress event from the swarm's figures: percent, bytes, download rate, ETA, and upload rate with peers. */
export function progressEvent(phase: string, s: Swarm, total: number, started: number): SiEvent {
  const done = Math.min(s.downloaded, total);
  const elapsedS = Math.max(0.001, (Date.now() - started) / 1000);
  const rate = s.downloadSpeed > 0 ? s.downloadSpeed : done / elapsedS;
  const etaS = done >= total ? 0 : rate > 0 ? Math.round((total - done) / rate) : null;
  return {
    type: 'progress',
    phase,
    percent: total > 0 ? (done / total) * 100 : 100,
    bytesDone: done,
    bytesTotal: total,
    speedKBs: rate / 1024,
    etaS,
    extra: `up ${(s.uploadSpeed / 1024).toFixed(0)} KB/s, ${s.numPeers} peer${s.numPeers === 1 ? '' : 's'}`,
  };
}
