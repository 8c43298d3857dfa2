// The client's DHCPv6 messages (SOLICIT, REQUEST), RFC 8415's retransmission timing, and the checks on an answer.

import { DHCP6_TYPES, OPT6, STATUS6, encodeDhcp6, encodeOptions6, u16Option, type Dhcp6Option } from './dhcp6-packet.js';
import type { Dhcp6Reply, IaNa } from './dhcp6-options.js';
import { ipv6Bytes } from './ipv6-values.js';

export interface ClientIdentity {
  duid: Buffer;
  iaid: number;
}

export interface Request6 {
  type: 'solicit' | 'request';
  xid: number;
  id: ClientIdentity;
  /** Hundredths of a second since the exchange began (option 8, capped at 0xffff). */
  elapsedCs: number;
  /** REQUEST: the server chosen and the address it advertised. */
  serverId?: Buffer;
  address?: string;
  rapidCommit?: boolean;
}

function iaNaOption(iaid: number, address: string | undefined): Dhcp6Option {
  const head = Buffer.alloc(12);
  head.writeUInt32BE(iaid >>> 0, 0); // T1 and T2 zero: the server chooses
  const inner: Dhcp6Option[] = [];
  if (address) inner.push({ code: OPT6.iaAddr, data: Buffer.concat([ipv6Bytes(address), Buffer.alloc(8)]) });
  return { code: OPT6.iaNa, data: Buffer.concat([head, encodeOptions6(inner)]) };
}

/** Encodes a SOLICIT or REQUEST asking for one address (IA_NA), DNS servers, the domain list and the boot-file URL. */
export function encodeRequest6(r: Request6): Buffer {
  const options: Dhcp6Option[] = [{ code: OPT6.clientId, data: r.id.duid }];
  if (r.type === 'request') options.push({ code: OPT6.serverId, data: r.serverId! });
  options.push(iaNaOption(r.id.iaid, r.type === 'request' ? r.address : undefined));
  options.push(u16Option(OPT6.elapsedTime, r.elapsedCs));
  const oro = Buffer.alloc(6);
  oro.writeUInt16BE(OPT6.dnsServers, 0);
  oro.writeUInt16BE(OPT6.domainList, 2);
  oro.writeUInt16BE(OPT6.bootfileUrl, 4); // RFC 5970: where the image server is, with IPv6 only
  options.push({ code: OPT6.oro, data: oro });
  if (r.type === 'solicit' && r.rapidCommit) options.push({ code: OPT6.rapidCommit, data: Buffer.alloc(0) });
  return encodeDhcp6({ type: DHCP6_TYPES[r.type], xid: r.xid, options });
}

/** RFC 8415 15: the retransmission parameters of a message kind (ms). */
export interface Timing {
  irt: number;
  mrt: number;
  /** Most transmissions (0: no limit). */
  mrc: number;
}
export const SOLICIT_TIMING: Timing = { irt: 1000, mrt: 3_600_000, mrc: 0 };
export const REQUEST_TIMING: Timing = { irt: 1000, mrt: 30_000, mrc: 10 };

/**
 * The next retransmission timeout: the first is IRT + RAND*IRT (for SOLICIT RAND is strictly positive, so the
 * first ADVERTISEs are collected for more than IRT), then 2*RTprev + RAND*RTprev, past MRT MRT + RAND*MRT; RAND
 * is uniform in [-0.1, 0.1].
 */
export function nextTimeout(prev: number | undefined, t: Timing, random: () => number, solicit: boolean): number {
  const rand = (random() * 2 - 1) * 0.1;
  if (prev === undefined) return Math.round(t.irt + (solicit ? Math.abs(rand) || 0.05 : rand) * t.irt);
  let rt = 2 * prev + rand * prev;
  if (rt > t.mrt) rt = t.mrt + rand * t.mrt;
  return Math.round(rt);
}

/** Our IA_NA in an answer, or undefined. */
export function ourIa(reply: Dhcp6Reply, iaid: number): IaNa | undefined {
  return reply.ias.find((ia) => ia.iaid === iaid >>> 0);
}

/** Why an ADVERTISE or REPLY is of no use to this client (undefined: usable). */
export function checkAnswer(reply: Dhcp6Reply, id: ClientIdentity): string | undefined {
  if (!reply.clientId.equals(id.duid)) return 'its client identifier is not ours';
  if (reply.status && reply.status.code !== STATUS6.success) return `status ${reply.status.code} (${reply.status.message || 'no message'})`;
  const ia = ourIa(reply, id.iaid);
  if (!ia) return 'no IA_NA for our IAID';
  if (ia.status && ia.status.code !== STATUS6.success) return `IA_NA status ${ia.status.code} (${ia.status.message || 'no message'})`;
  if (!ia.addresses.some((a) => a.valid > 0)) return 'no address with a valid lifetime in its IA_NA';
  return undefined;
}
