// HTTP tracker announces (BEP 3, compact peer lists of BEP 23): the swarm's source of peers.

import { SiError } from '../../errors.js';
import { formatIPv6 } from '../../net/ipv6-values.js';
import { bdecode, type BValue } from './meta.js';

export interface AnnounceQuery {
  infoHash: Buffer;
  peerId: Buffer;
  port: number;
  uploaded: number;
  downloaded: number;
  left: number;
  event?: 'started' | 'completed' | 'stopped';
  numwant?: number;
}

export interface AnnounceReply {
  /** Seconds the tracker asks between announces. */
  interval: number;
  /** Peers as host and port (IPv4 from `peers`, IPv6 from `peers6`). */
  peers: Array<{ host: string; port: number }>;
}

/** The announce URL: info hash and peer id as raw bytes, percent-encoded. */
export function announceUrl(tracker: string, q: AnnounceQuery): string {
  const enc = (b: Buffer) => [...b].map((x) => '%' + x.toString(16).padStart(2, '0')).join('');
  let s = `info_hash=${enc(q.infoHash)}&peer_id=${enc(q.peerId)}&port=${q.port}&uploaded=${q.uploaded}&downloaded=${q.downloaded}&left=${q.left}&compact=1&numwant=${q.numwant ?? 80}`;
  if (q.event) s += `&event=${q.event}`;
  return tracker + (tracker.includes('?') ? '&' : '?') + s;
}

/** Parses a tracker's bencoded answer; a `failure reason` or a malformed body is an E_TRANSFER naming the tracker. */
export function parseAnnounce(body: Buffer, tracker: string): AnnounceReply {
  let root: BValue;
  try {
    root = bdecode(body);
  } catch (err) {
    throw new SiError('E_TRANSFER', `tracker ${tracker} answered with a malformed body: ${(err as Error).message}`);
  }
  if (!(root instanceof Map)) throw new SiError('E_TRANSFER', `tracker ${tracker} answered with a malformed body: not a dictionary`);
  const failure = root.get('failure reason');
  if (Buffer.isBuffer(failure)) throw new SiError('E_TRANSFER', `tracker ${tracker} refuses the announce: ${failure.toString('utf8')}`);
  const interval = typeof root.get('interval') === 'number' ? (root.get('interval') as number) : 60;
  const peers: AnnounceReply['peers'] = [];
  const v4 = root.get('peers');
  if (Buffer.isBuffer(v4)) {
    for (let o = 0; o + 6 <= v4.length; o += 6) peers.push({ host: `${v4[o]}.${v4[o + 1]}.${v4[o + 2]}.${v4[o + 3]}`, port: v4.readUInt16BE(o + 4) });
  } else if (Array.isArray(v4)) {
    for (const p of v4) {
      if (!(p instanceof Map)) continue;
      const ip = p.get('ip');
      const port = p.get('port');
      if (Buffer.isBuffer(ip) && typeof port === 'number') peers.push({ host: ip.toString('utf8'), port });
    }
  }
  const v6 = root.get('peers6');
  if (Buffer.isBuffer(v6)) {
    for (let o = 0; o + 18 <= v6.length; o += 18) {
      // RFC 5952 text, as the kernel writes addresses: our own entry and the image server's are then recognised.
      peers.push({ host: formatIPv6(v6, o), port: v6.readUInt16BE(o + 16) });
    }
  }
  return { interval, peers: peers.filter((p) => p.port > 0) };
}

/** One announce over HTTP(S), bounded by timeoutMs. */
export async function announce(tracker: string, q: AnnounceQuery, timeoutMs = 5000, signal?: AbortSignal): Promise<AnnounceReply> {
  const limit = AbortSignal.timeout(timeoutMs);
  const res = await fetch(announceUrl(tracker, q), { signal: signal ? AbortSignal.any([signal, limit]) : limit });
  const body = Buffer.from(await res.arrayBuffer());
  if (!res.ok && !body.includes('failure reason')) throw new SiError('E_TRANSFER', `tracker ${tracker} answered HTTP ${res.status}`);
  return parseAnnounce(body, tracker);
}

export interface AnnounceLoopOptions {
  tracker: string;
  /** The figures as of now, with the event to report. */
  query: (event?: AnnounceQuery['event']) => AnnounceQuery;
  onPeers: (peers: AnnounceReply['peers']) => void;
  /** Whether the download is complete (announced once as `completed`, then the seeding interval). */
  isDone: () => boolean;
  debug?: (message: string) => void;
}

/** Announces `started`, then again while the swarm runs (every 30 s at most while downloading, the tracker's interval
 *  up to 5 minutes while seeding), `completed` once, and `stopped` at the end (at most 2 s). */
export class AnnounceLoop {
  private wake: (() => void) | null = null;
  private stopped = false;

  constructor(private readonly o: AnnounceLoopOptions) {}

  start(): void {
    void this.run();
  }

  /** Announces at once (the download just completed). */
  now(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await announce(this.o.tracker, this.o.query('stopped'), 2000).catch(() => undefined);
  }

  private async run(): Promise<void> {
    let event: AnnounceQuery['event'] = 'started';
    let wasDone = this.o.isDone();
    while (!this.stopped) {
      let waitS = 10;
      try {
        const r = await announce(this.o.tracker, this.o.query(event));
        event = undefined;
        if (this.stopped) return;
        this.o.onPeers(r.peers);
        waitS = this.o.isDone() ? Math.min(300, Math.max(30, r.interval)) : Math.min(30, Math.max(5, r.interval));
      } catch (err) {
        this.o.debug?.(`announce to ${this.o.tracker}: ${(err as Error).message}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitS * 1000);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
      if (this.o.isDone() && !wasDone) {
        wasDone = true;
        event = 'completed';
      }
    }
  }
}
