// Checks that a torrent's HTTP tracker answers before the download starts, with bounded retries.

import { randomBytes } from 'node:crypto';
import { SiError } from '../../errors.js';
import { withRetry } from '../../net/retry.js';
import type { Reporter } from '../../report/events.js';
import type { TorrentMeta } from './meta.js';
import { announceUrl } from './announce.js';

export interface TrackerCheck {
  report: Reporter;
  signal?: AbortSignal;
  /** The port our peer listens on (announced with event=stopped, so the tracker lists nobody new). */
  port: number;
  attempts?: number;
  capMs?: number;
}

/** The announce URL for a probe of this torrent: a leaving peer that wants no peers (the tracker lists nobody new). */
export function probeUrl(tracker: string, meta: TorrentMeta, port: number, peerId: Buffer): string {
  return announceUrl(tracker, { infoHash: Buffer.from(meta.infoHash, 'hex'), peerId, port, uploaded: 0, downloaded: 0, left: meta.length, numwant: 0, event: 'stopped' });
}

/** Resolves once one of the torrent's HTTP trackers answers; a refusal or silence after the retries is an E_TRANSFER. */
export async function checkTracker(meta: TorrentMeta, file: string, opts: TrackerCheck): Promise<string> {
  const trackers = meta.trackers.filter((t) => /^https?:\/\//.test(t));
  if (trackers.length === 0) {
    throw new SiError('E_TRANSFER', `${file} names no HTTP tracker (${meta.trackers.join(', ') || 'none'}); the agent uses HTTP trackers only`);
  }
  const peerId = Buffer.concat([Buffer.from('-SI0100-'), randomBytes(12)]);
  const attempts = opts.attempts ?? 8;
  return withRetry(
    async () => {
      const errors: string[] = [];
      for (const t of trackers) {
        try {
          const res = await fetch(probeUrl(t, meta, opts.port, peerId), { signal: AbortSignal.timeout(5000) });
          const body = Buffer.from(await res.arrayBuffer()).toString('latin1');
          const refusal = /failure reason(\d+):/.exec(body);
          if (refusal) {
            const reason = body.substr(refusal.index + refusal[0].length, Number(refusal[1]));
            throw new SiError('E_TRANSFER', `tracker ${t} refuses torrent ${meta.name} from ${file} (info hash ${meta.infoHash}): ${reason}`);
          }
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          return t;
        } catch (err) {
          if (err instanceof SiError) throw err;
          errors.push(`${t}: ${describe(err)}`);
        }
      }
      throw new Error(errors.join('; '));
    },
    { what: `reach the BitTorrent tracker ${trackers.join(', ')} for ${meta.name}`, attempts, capMs: opts.capMs ?? 5000, report: opts.report, signal: opts.signal, retryIf: (e) => !(e instanceof SiError) },
  );
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
}
