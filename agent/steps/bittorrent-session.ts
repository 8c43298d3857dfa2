// The flow's one BitTorrent peer: started on first use, seeding until the install is otherwise done, then stopped.

import { rmSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { getBool, getUint } from '../params/validate.js';
import { sleepAbortable } from '../net/retry.js';
import type { Peer } from '../transport/bittorrent/client.js';
import { formatBytes } from '../report/format.js';
import { type Ctx, type Step, param } from './context.js';

/** Longest seeding after the install is otherwise complete (BITTORRENT_SEED_WAIT), whatever the upload rate. */
export const SEED_WAIT_MAX_S = 600;

export interface BtSession {
  peer: Peer;
  serverAddresses: string[];
  /** Tarballs on disk, deleted when the peer stops. */
  staged: string[];
  stopped: boolean;
}

/** The running session, if BitTorrent was used in this flow. */
export function btSession(ctx: Ctx): BtSession | undefined {
  return ctx.state.bittorrent as BtSession | undefined;
}

/** Starts the peer on the install address once per flow; its cleanup stops it and deletes the tarballs. */
export async function ensureSession(ctx: Ctx): Promise<BtSession> {
  const existing = btSession(ctx);
  if (existing) return existing;
  const bindAddress = ctx.state.clientIp ?? param(ctx, 'IPADDR');
  const { startPeer } = await import('../transport/bittorrent/client.js');
  const peer = await startPeer({ bindAddress });
  const server = param(ctx, 'IMAGESERVER')!;
  const serverAddresses = isIP(server) ? [server] : (await lookup(server, { all: true }).catch(() => [])).map((a) => a.address);
  const session: BtSession = { peer, serverAddresses, staged: [], stopped: false };
  ctx.state.bittorrent = session;
  ctx.state.transport = 'bittorrent';
  ctx.state.transportInfo = { ...ctx.state.transportInfo, transport: 'bittorrent' };
  ctx.state.cleanups.push(() => stopSession(ctx, session));
  ctx.report.emit({ type: 'transport', transport: 'bittorrent', peer: `${bindAddress ?? '*'}:${peer.port}`, detail: "the agent's own peer over TCP, HTTP trackers only" });
  return session;
}

/** Stops the peer, deletes the staged tarballs and reports what came from the server, from peers, and what went up. */
export async function stopSession(ctx: Ctx, s: BtSession): Promise<void> {
  if (s.stopped) return;
  s.stopped = true;
  await s.peer.stop();
  for (const f of s.staged) rmSync(f, { force: true });
  // Counted by the swarms as the bytes arrived: right after a failure or an abort as after success.
  const swarms = s.peer.swarms;
  const sum = (f: (x: (typeof swarms)[number]) => number) => swarms.reduce((n, x) => n + f(x), 0);
  const t = { fromServer: sum((x) => x.tally.fromServer), fromPeers: sum((x) => x.tally.fromPeers), rejected: sum((x) => x.tally.rejected) };
  const uploaded = sum((x) => x.uploaded);
  const summary = `BitTorrent: ${formatBytes(t.fromServer)} downloaded from the image server, ${formatBytes(t.fromPeers)} from other clients, ${formatBytes(uploaded)} uploaded${t.rejected ? `, ${t.rejected} piece(s) rejected by hash` : ''}`;
  ctx.state.transportInfo = { ...ctx.state.transportInfo, bt_from_server: String(t.fromServer), bt_from_peers: String(t.fromPeers), bt_uploaded: String(uploaded) };
  ctx.report.emit({ type: 'transport', transport: 'bittorrent', detail: summary });
  ctx.report.info(summary);
}

/** Upload rate of every torrent of the peer, KB/s. */
function uploadKBs(s: BtSession): number {
  return s.peer.swarms.reduce((n, t) => n + t.uploadSpeed, 0) / 1024;
}

/** Seeds on while BITTORRENT_SEED_WAIT=y and the upload rate stays at or above BITTORRENT_UPLOAD_MIN, then stops. */
export async function seedThenStop(ctx: Ctx, s: BtSession): Promise<void> {
  if (getBool(ctx.params, 'BITTORRENT_SEED_WAIT')) {
    const pollS = Math.max(1, getUint(ctx.params, 'BITTORRENT_POLLING_TIME'));
    const minKBs = getUint(ctx.params, 'BITTORRENT_UPLOAD_MIN');
    const until = Date.now() + SEED_WAIT_MAX_S * 1000;
    ctx.report.info(`BitTorrent: seeding while the upload rate is at least ${minKBs} KB/s (checked every ${pollS} s, at most ${SEED_WAIT_MAX_S} s)`);
    for (;;) {
      await sleepAbortable(pollS * 1000, ctx.signal);
      const rate = uploadKBs(s);
      ctx.report.info(`BitTorrent: seeding at ${rate.toFixed(0)} KB/s to ${s.peer.swarms.reduce((n, t) => n + t.numPeers, 0)} peers`);
      if (rate < minKBs) break;
      if (Date.now() >= until) {
        ctx.report.warn(`BitTorrent: still uploading at ${rate.toFixed(0)} KB/s after ${SEED_WAIT_MAX_S} s: seeding stops`);
        break;
      }
    }
  }
  await stopSession(ctx, s);
}

/** Stops the peer at once if it runs (a failed install seeds no more; its tarball may sit on the target's /tmp). */
export async function stopSeeding(ctx: Ctx): Promise<void> {
  const s = btSession(ctx);
  if (s) await stopSession(ctx, s);
}

export const seedStep: Step = {
  name: 'bittorrent-seed',
  title: 'Seeding the BitTorrent tarballs',
  async run(ctx) {
    const s = btSession(ctx);
    if (s && !s.stopped) await seedThenStop(ctx, s);
  },
};
