// Native DHCP client: negotiates a lease on one link, or on several links at once (first lease wins).

import { SiError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import type { Reporter } from '../report/events.js';
import { checkReplyFor, decodeDhcpPacket } from './dhcp-packet.js';
import { createInbox, type Inbox } from './dhcp-inbox.js';
import { negotiateLease, type NegotiateContext } from './dhcp-negotiate.js';
import type { Lease } from './dhcp-options.js';
import { openDhcpSocket } from './dhcp-socket.js';
import { encodeClientRequest } from './dhcp-request.js';
import { randomBytes } from 'node:crypto';

export interface DhcpLink {
  iface: string;
  mac: Buffer;
}

export interface DhcpRunOptions {
  run: Runner;
  report: Reporter;
  /** Overall deadline: no DISCOVER starts after it. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Most DISCOVERs per link (default: as many as the deadline allows). */
  attempts?: number;
  /** First wait for an OFFER (default 4000 ms, RFC 2131), doubling up to capMs (default 32000 ms). */
  baseMs?: number;
  capMs?: number;
  /** Sent as option 12 when known. */
  hostname?: string;
  random?: () => number;
  clientPort?: number;
  serverPort?: number;
  /** With several links, how long a lease without option 140 waits for one that names the image server (default 2000 ms). */
  preferGraceMs?: number;
}

interface Session {
  link: DhcpLink;
  inbox: Inbox;
  xid: number | undefined;
}

/** Gets a lease on one interface (SPEC 3); E_TIMEOUT names the interface, the DISCOVERs sent and the time spent. */
export async function runDhcp(opts: DhcpRunOptions & DhcpLink): Promise<Lease> {
  return await runDhcpOnLinks([{ iface: opts.iface, mac: opts.mac }], opts);
}

/**
 * Runs one negotiation per link over one socket, all at once; the first ACK wins
 * and stops the others. The lease names its link. Fails only when every link fails.
 */
export async function runDhcpOnLinks(links: readonly DhcpLink[], opts: DhcpRunOptions): Promise<Lease> {
  if (links.length === 0) throw new SiError('E_NETWORK', 'no network link to run DHCP on');
  const { report } = opts;
  const sessions: Session[] = links.map((link) => ({ link, inbox: createInbox(), xid: undefined }));
  const statsMap = new Map<Session, NegotiateContext['stats']>();
  const dispatch = (buf: Buffer, from: string) => {
    const d = decodeDhcpPacket(buf);
    if (!d.ok) {
      report.info(`DHCP: ignored a packet from ${from} (${buf.length} bytes): ${d.reason}`);
      for (const s of sessions) if (s.xid !== undefined) statsMap.get(s)?.ignored.push(d.reason);
      return;
    }
    const reasons: string[] = [];
    for (const s of sessions) {
      if (s.xid === undefined) continue;
      const why = checkReplyFor(d.msg, s.xid, s.link.mac);
      if (why === undefined) return s.inbox.put({ msg: d.msg, type: d.type, from });
      reasons.push(`${s.link.iface}: ${why}`);
    }
    report.debug(`DHCP: ignored a reply from ${from} not for us (${reasons.join('; ')})`);
  };
  const sock = await openDhcpSocket({ run: opts.run, onPacket: dispatch, ...(opts.clientPort ? { clientPort: opts.clientPort } : {}), ...(opts.serverPort ? { serverPort: opts.serverPort } : {}) });
  const stop = new AbortController();
  if (opts.signal?.aborted) stop.abort(opts.signal.reason);
  const onOuterAbort = () => stop.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const started = Date.now();
  const contexts = sessions.map((s): NegotiateContext => {
    const ctx: NegotiateContext = {
      iface: s.link.iface,
      mac: s.link.mac,
      inbox: s.inbox,
      setXid: (xid) => (s.xid = xid),
      send: (packet) => sock.sendOn(s.link.iface, packet),
      report,
      signal: stop.signal,
      deadline: started + opts.timeoutMs,
      started,
      attempts: opts.attempts ?? Infinity,
      baseMs: opts.baseMs ?? 4000,
      capMs: opts.capMs ?? 32000,
      random: opts.random ?? Math.random,
      stats: { discovers: 0, naks: 0, ignored: [] },
      ...(opts.hostname ? { hostname: opts.hostname } : {}),
    };
    statsMap.set(s, ctx.stats);
    return ctx;
  });
  const got: Lease[] = [];
  try {
    const lease = await firstLease(contexts, links.length, opts.preferGraceMs ?? 2000, got);
    if (links.length > 1) {
      report.info(`DHCP: using ${lease.iface} (${lease.ip}), ${lease.options.has(140) ? 'the first lease that names the image server (option 140)' : 'the first link that got a lease'}`);
    }
    // Leases on the other links are given back, so a machine with many NICs holds one address.
    for (const other of got) {
      if (other === lease) continue;
      const link = links.find((l) => l.iface === other.iface)!;
      await sock.sendOn(other.iface, encodeClientRequest({ type: 'release', xid: randomBytes(4).readUInt32BE(0), mac: link.mac, secs: 0, serverId: other.serverId, releaseIp: other.ip })).catch(() => undefined);
      report.info(`DHCP: released ${other.ip} on ${other.iface} (server ${other.serverId})`);
    }
    return lease;
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new SiError('E_NETWORK', 'DHCP aborted');
    const errors = err instanceof AggregateError ? err.errors : [err];
    if (errors.length === 1) throw errors[0];
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    throw new SiError('E_TIMEOUT', `no DHCP lease on any of ${links.map((l) => l.iface).join(', ')} after ${secs} s`, {
      details: errors.map((e) => (e instanceof Error ? e.message : String(e))),
    });
  } finally {
    stop.abort();
    opts.signal?.removeEventListener('abort', onOuterAbort);
    await sock.close().catch(() => undefined);
  }
}

/**
 * The lease to use: the first that carries option 140 (the image server), else the first of all once `graceMs` has
 * passed without one. Every lease that arrives is pushed to `got` (the losers are released). Rejects with an
 * AggregateError when every negotiation fails.
 */
function firstLease(contexts: NegotiateContext[], links: number, graceMs: number, got: Lease[]): Promise<Lease> {
  return new Promise((resolve, reject) => {
    let failed = 0;
    let done = false;
    let grace: NodeJS.Timeout | undefined;
    const errors: unknown[] = [];
    const finish = (l: Lease) => {
      if (done) return;
      done = true;
      clearTimeout(grace);
      resolve(l);
    };
    const settleIfAllIn = () => {
      if (done || failed + got.length < contexts.length) return;
      if (got.length > 0) finish(got[0]!);
      else {
        done = true;
        reject(new AggregateError(errors));
      }
    };
    for (const c of contexts) {
      negotiateLease(c).then(
        (l) => {
          got.push(l);
          if (done) return;
          if (links === 1 || l.options.has(140)) return finish(l);
          grace ??= setTimeout(() => finish(got[0]!), graceMs);
          settleIfAllIn();
        },
        (e: unknown) => {
          failed++;
          errors.push(e);
          settleIfAllIn();
        },
      );
    }
  });
}
