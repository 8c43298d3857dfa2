// Native DHCPv6 client (RFC 8415) for one link: SOLICIT -> ADVERTISE -> REQUEST -> REPLY (or rapid commit), under a deadline.

import { randomBytes } from 'node:crypto';
import { SiError } from '../errors.js';
import type { Reporter } from '../report/events.js';
import { DHCP6_TYPES, decodeDhcp6, duidFromMac, typeName6 } from './dhcp6-packet.js';
import { interpretDhcp6, type Dhcp6Reply } from './dhcp6-options.js';
import { REQUEST_TIMING, SOLICIT_TIMING, checkAnswer, encodeRequest6, nextTimeout, ourIa, type ClientIdentity, type Timing } from './dhcp6-request.js';
import { openDhcp6Socket } from './dhcp6-socket.js';

export interface Dhcp6Lease {
  iface: string;
  address: string;
  preferred: number;
  valid: number;
  /** The server's DUID (hex) and the address it answered from. */
  serverId: string;
  server: string;
  dns: string[];
  domains: string[];
  rapidCommit: boolean;
  /** The boot-file URL (option 59) and its host: where an IPv6-only install looks for the image server. */
  bootfileUrl?: { url: string; host: string };
  /** Options refused one by one. */
  problems: string[];
}

export interface Dhcp6RunOptions {
  report: Reporter;
  iface: string;
  mac: Buffer;
  linkLocal: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Ask for a two-message exchange (option 14); a server that does not do it answers with ADVERTISE as usual. */
  rapidCommit?: boolean;
  random?: () => number;
  /** Scale of RFC 8415's timers (tests: 0.2 makes IRT 200 ms). */
  timeScale?: number;
  clientPort?: number;
  serverPort?: number;
  /** Told of the lease as soon as the server has granted it (a caller that gives up later can still release it). */
  onLease?: (lease: Dhcp6Lease) => void;
}

interface Got {
  reply: Dhcp6Reply;
  from: string;
}

/** Gets an address, DNS servers and the domain list by DHCPv6 on one link; E_TIMEOUT names the link, messages sent and time. */
export async function runDhcp6(opts: Dhcp6RunOptions): Promise<Dhcp6Lease> {
  const { report, iface } = opts;
  const id: ClientIdentity = { duid: duidFromMac(opts.mac), iaid: opts.mac.readUInt32BE(opts.mac.length - 4) };
  const random = opts.random ?? Math.random;
  const scale = opts.timeScale ?? 1;
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  const ignored: string[] = [];
  let xid = 0;
  let queue: Got[] = [];
  let wake: (() => void) | undefined;
  const onPacket = (buf: Buffer, from: string) => {
    const d = decodeDhcp6(buf);
    const r = d.ok ? interpretDhcp6(d.msg) : d;
    if (!r.ok) {
      ignored.push(r.reason);
      return report.info(`DHCPv6 on ${iface}: ignored a message from ${from} (${buf.length} bytes): ${r.reason}`);
    }
    if (r.reply.xid !== xid) return report.debug(`DHCPv6 on ${iface}: ignored a ${typeName6(r.reply.type)} from ${from} for another transaction`);
    queue.push({ reply: r.reply, from });
    wake?.();
  };
  const sock = await openDhcp6Socket({ iface, linkLocal: opts.linkLocal, onPacket, ...(opts.clientPort ? { clientPort: opts.clientPort } : {}), ...(opts.serverPort ? { serverPort: opts.serverPort } : {}) });
  const next = async (until: number): Promise<Got | undefined> => {
    while (queue.length === 0) {
      const left = until - Date.now();
      if (left <= 0 || opts.signal?.aborted) return undefined;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          opts.signal?.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        };
        const t = setTimeout(done, left);
        opts.signal?.addEventListener('abort', done, { once: true });
        wake = done;
      });
    }
    return queue.shift();
  };
  const usable = (g: Got, want: number): boolean => {
    const why = g.reply.type !== want && !(want === DHCP6_TYPES.advertise && g.reply.type === DHCP6_TYPES.reply && g.reply.rapidCommit) ? `a ${typeName6(g.reply.type)}` : checkAnswer(g.reply, id);
    if (why === undefined) return true;
    ignored.push(why);
    report.info(`DHCPv6 on ${iface}: ignored a ${typeName6(g.reply.type)} from ${g.from}: ${why}`);
    return false;
  };
  /** Sends per RFC 8415's timing until `accept` settles on an answer, or the attempts or the deadline run out. */
  const exchange = async (build: (elapsedCs: number) => Buffer, what: string, t: Timing, want: number, collectFirst: boolean): Promise<Got | undefined> => {
    xid = randomBytes(3).readUIntBE(0, 3);
    queue = [];
    const timing = { irt: t.irt * scale, mrt: t.mrt * scale, mrc: t.mrc };
    let rt: number | undefined;
    for (let n = 1; (timing.mrc === 0 || n <= timing.mrc) && Date.now() < deadline; n++) {
      if (opts.signal?.aborted) break;
      rt = nextTimeout(rt, timing, random, want === DHCP6_TYPES.advertise);
      await sock.send(build(Math.min(0xffff, Math.round((Date.now() - started) / 10))));
      report.info(`DHCPv6 on ${iface}: ${what} ${n} sent, waiting ${(rt / 1000).toFixed(1)} s`);
      const until = Math.min(deadline, Date.now() + rt);
      const best: Got[] = [];
      for (let g = await next(until); g; g = await next(until)) {
        if (!usable(g, want)) continue;
        // Rapid commit, a preference of 255, or any answer after the first round: taken at once (RFC 8415 18.2.1).
        if (g.reply.type === DHCP6_TYPES.reply || !collectFirst || n > 1 || g.reply.preference === 255) return g;
        best.push(g);
      }
      if (best.length > 0) return best.reduce((a, b) => (b.reply.preference > a.reply.preference ? b : a));
    }
    return undefined;
  };
  const granted = (lease: Dhcp6Lease): Dhcp6Lease => (opts.onLease?.(lease), lease);
  let solicits = 0;
  try {
    while (Date.now() < deadline && !opts.signal?.aborted) {
      const adv = await exchange((cs) => (solicits++, encodeRequest6({ type: 'solicit', xid, id, elapsedCs: cs, rapidCommit: opts.rapidCommit ?? false })), 'SOLICIT', SOLICIT_TIMING, DHCP6_TYPES.advertise, true);
      if (!adv) break;
      if (adv.reply.type === DHCP6_TYPES.reply) return granted(leaseOf(iface, adv, id.iaid));
      const offered = ourIa(adv.reply, id.iaid)!.addresses.find((a) => a.valid > 0)!.address;
      report.info(`DHCPv6 on ${iface}: ${offered} advertised by ${adv.from} (preference ${adv.reply.preference})`);
      const serverId = adv.reply.serverId;
      const rep = await exchange((cs) => encodeRequest6({ type: 'request', xid, id, elapsedCs: cs, serverId, address: offered }), 'REQUEST', REQUEST_TIMING, DHCP6_TYPES.reply, false);
      if (rep) return granted(leaseOf(iface, rep, id.iaid));
      report.warn(`DHCPv6 on ${iface}: no REPLY to ${REQUEST_TIMING.mrc} REQUESTs; soliciting again`);
    }
  } finally {
    await sock.close().catch(() => undefined);
  }
  if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new SiError('E_NETWORK', 'DHCPv6 stopped');
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  throw new SiError('E_TIMEOUT', `no DHCPv6 lease on ${iface}: sent ${solicits} SOLICITs over ${secs} s`, { details: ignored.length > 0 ? [`ignored: ${[...new Set(ignored)].slice(0, 5).join('; ')}`] : [] });
}

function leaseOf(iface: string, g: Got, iaid: number): Dhcp6Lease {
  const a = ourIa(g.reply, iaid)!.addresses.find((x) => x.valid > 0)!;
  return {
    iface,
    address: a.address,
    preferred: a.preferred,
    valid: a.valid,
    serverId: g.reply.serverId.toString('hex'),
    server: g.from.replace(/%.*$/, ''),
    dns: g.reply.dns,
    domains: g.reply.domains,
    rapidCommit: g.reply.rapidCommit,
    problems: g.reply.problems,
    ...(g.reply.bootfileUrl ? { bootfileUrl: g.reply.bootfileUrl } : {}),
  };
}
