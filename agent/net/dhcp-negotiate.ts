// The DHCP state machine for one link: DISCOVER -> OFFER -> REQUEST -> ACK (NAK: start over), with backoff and jitter.

import { randomBytes } from 'node:crypto';
import { SiError } from '../errors.js';
import type { Reporter } from '../report/events.js';
import { sleepAbortable } from './retry.js';
import { DHCP_TYPES, formatMac } from './dhcp-packet.js';
import { encodeClientRequest } from './dhcp-request.js';
import { interpretLease, type Lease } from './dhcp-options.js';
import type { Inbox, Received } from './dhcp-inbox.js';

export interface NegotiateContext {
  iface: string;
  mac: Buffer;
  inbox: Inbox;
  /** Sets the xid replies are dispatched to this inbox by. */
  setXid(xid: number): void;
  send(packet: Buffer): Promise<void>;
  report: Reporter;
  signal: AbortSignal;
  deadline: number; // Date.now() value after which no new DISCOVER starts
  started: number;
  attempts: number; // most DISCOVERs
  baseMs: number;
  capMs: number;
  random: () => number;
  hostname?: string;
  /** Counters the caller reads for the timeout message. */
  stats: { discovers: number; naks: number; ignored: string[] };
}

/** Wait after DISCOVER n (1-based): base*2^(n-1) capped, +/- a quarter (at most 1 s) of random jitter (RFC 2131 4.1). */
export function discoverWait(n: number, baseMs: number, capMs: number, random: () => number): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, n - 1));
  const jitter = Math.min(1000, exp / 4);
  return Math.max(100, Math.round(exp + (random() * 2 - 1) * jitter));
}

function isUsableAddress(ip: string): boolean {
  const first = Number(ip.split('.')[0]);
  return ip !== '0.0.0.0' && ip !== '255.255.255.255' && first !== 127 && first < 224 && first !== 0;
}

function validOffer(r: Received): string | undefined {
  if (r.type !== DHCP_TYPES.offer) return `a DHCP message of type ${r.type} while waiting for an OFFER`;
  if (!isUsableAddress(r.msg.yiaddr)) return `an OFFER of the unusable address ${r.msg.yiaddr}`;
  return undefined;
}

function serverOf(r: Received): string {
  const id = r.msg.options.get(54);
  return id?.length === 4 ? `${id[0]}.${id[1]}.${id[2]}.${id[3]}` : r.from;
}

/** Negotiates a lease on one link; throws E_TIMEOUT when the deadline or the attempts run out. */
export async function negotiateLease(ctx: NegotiateContext): Promise<Lease> {
  const { report, iface } = ctx;
  const skip = (r: Received, why: string) => {
    ctx.stats.ignored.push(why);
    report.info(`DHCP on ${iface}: ignored a reply from ${r.from}: ${why}`);
  };
  for (;;) {
    const xid = randomBytes(4).readUInt32BE(0);
    ctx.setXid(xid);
    ctx.inbox.clear();
    let offer: Received | undefined;
    while (!offer) {
      if (ctx.signal.aborted) throw new SiError('E_NETWORK', `DHCP on ${iface} stopped`);
      if (ctx.stats.discovers >= ctx.attempts || Date.now() >= ctx.deadline) throw timeoutError(ctx);
      const secs = (Date.now() - ctx.started) / 1000;
      await ctx.send(encodeClientRequest({ type: 'discover', xid, mac: ctx.mac, secs, ...(ctx.hostname ? { hostname: ctx.hostname } : {}) }));
      const n = ++ctx.stats.discovers;
      const wait = Math.min(discoverWait(n, ctx.baseMs, ctx.capMs, ctx.random), Math.max(0, ctx.deadline - Date.now()));
      report.info(`DHCP: DISCOVER ${n} on ${iface} (${formatMac(ctx.mac)}, xid 0x${xid.toString(16)}), waiting ${(wait / 1000).toFixed(1)} s for an offer`);
      offer = await ctx.inbox.next(validOffer, wait, ctx.signal, skip);
      if (!offer && n < ctx.attempts && Date.now() < ctx.deadline && !ctx.signal.aborted) {
        report.emit({ type: 'retry', what: `DHCP DISCOVER on ${iface}`, attempt: n, delayMs: wait, error: `no valid OFFER within ${(wait / 1000).toFixed(1)} s` });
      }
    }
    const server = serverOf(offer);
    const ip = offer.msg.yiaddr;
    report.info(`DHCP: OFFER of ${ip} from server ${server} on ${iface}`);
    const lease = await requestOffered(ctx, xid, ip, server, skip);
    if (lease) return lease;
    // NAK or no answer to our REQUEST: back to DISCOVER with a new xid, after a short pause.
    await sleepAbortable(Math.min(1000, ctx.baseMs / 2), ctx.signal).catch(() => undefined);
  }
}

async function requestOffered(ctx: NegotiateContext, xid: number, ip: string, server: string, skip: (r: Received, why: string) => void): Promise<Lease | undefined> {
  const { report, iface } = ctx;
  const want = (r: Received): string | undefined => {
    if (r.type === DHCP_TYPES.offer) return 'another OFFER after we chose one';
    if (r.type !== DHCP_TYPES.ack && r.type !== DHCP_TYPES.nak) return `a DHCP message of type ${r.type} while waiting for an ACK`;
    if (serverOf(r) !== server) return `a reply from server ${serverOf(r)}, we requested from ${server}`;
    if (r.type === DHCP_TYPES.ack && r.msg.yiaddr !== ip) return `an ACK for ${r.msg.yiaddr}, we requested ${ip}`;
    return undefined;
  };
  for (let i = 0; i < 3; i++) {
    const secs = (Date.now() - ctx.started) / 1000;
    await ctx.send(encodeClientRequest({ type: 'request', xid, mac: ctx.mac, secs, requestedIp: ip, serverId: server, ...(ctx.hostname ? { hostname: ctx.hostname } : {}) }));
    report.info(`DHCP: REQUEST of ${ip} from ${server} on ${iface}`);
    // Past the deadline a REQUEST still gets a second to be answered: an OFFER in hand is worth finishing.
    const wait = Math.min(ctx.baseMs * 2 ** i, ctx.capMs, Math.max(1000, ctx.deadline - Date.now()));
    const reply = await ctx.inbox.next(want, wait, ctx.signal, skip);
    if (!reply) {
      if (ctx.signal.aborted) return undefined;
      report.emit({ type: 'retry', what: `DHCP REQUEST on ${iface}`, attempt: i + 1, delayMs: wait, error: `no ACK within ${(wait / 1000).toFixed(1)} s` });
      continue;
    }
    if (reply.type === DHCP_TYPES.nak) {
      ctx.stats.naks++;
      const why = reply.msg.options.get(56)?.toString('latin1').replace(/[^\x20-\x7e]/g, '?');
      report.warn(`DHCP: NAK from ${server} on ${iface}${why ? `: ${why}` : ''}; starting over`);
      return undefined;
    }
    const lease = interpretLease(reply.msg, iface, reply.from);
    for (const p of lease.problems) report.warn(`DHCP on ${iface}: ignored ${p}`);
    report.info(`DHCP: ACK on ${iface}: ${lease.ip}/${lease.prefix} from server ${lease.serverId}${lease.leaseSeconds !== undefined ? `, lease ${lease.leaseSeconds} s` : ''}`);
    return lease;
  }
  return undefined;
}

/** The E_TIMEOUT for one link: names it, how many DISCOVERs were sent and over how long. */
export function timeoutError(ctx: Pick<NegotiateContext, 'iface' | 'stats' | 'started'>): SiError {
  const s = ctx.stats;
  const secs = ((Date.now() - ctx.started) / 1000).toFixed(1);
  const naks = s.naks ? `, ${s.naks} NAK${s.naks === 1 ? '' : 's'}` : '';
  const ignored = s.ignored.length ? `, ${s.ignored.length} unusable repl${s.ignored.length === 1 ? 'y' : 'ies'} ignored` : '';
  return new SiError('E_TIMEOUT', `no DHCP lease on ${ctx.iface}: sent ${s.discovers} DISCOVER${s.discovers === 1 ? '' : 's'} over ${secs} s without a usable answer${naks}${ignored}`, {
    details: [...new Set(s.ignored)].slice(0, 10),
  });
}
