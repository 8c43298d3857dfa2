// Reads a server's DHCPv6 message into what the client uses: identifiers, addresses (IA_NA), DNS servers, domain list.
//
// Two levels of refusal. What the exchange depends on (server and client identifiers, IA_NA and IAADDR structure,
// status codes) refuses the whole message with a reason: the client ignores it and waits for another. What is only
// information (preference, rapid commit, DNS servers, domain list) refuses that option alone, named in `problems`.

import { isHostName } from '../params/validate.js';
import { OPT6, parseOptions6, type Dhcp6Message, type Dhcp6Option } from './dhcp6-packet.js';
import { classifyIPv6, formatIPv6 } from './ipv6-values.js';
import { decodeBootfileUrl } from './dhcp6-bootfile.js';

export interface Ia6Address {
  address: string;
  preferred: number;
  valid: number;
}

export interface IaNa {
  iaid: number;
  t1: number;
  t2: number;
  addresses: Ia6Address[];
  status?: { code: number; message: string };
}

export interface Dhcp6Reply {
  type: number;
  xid: number;
  serverId: Buffer;
  clientId: Buffer;
  preference: number;
  rapidCommit: boolean;
  status?: { code: number; message: string };
  ias: IaNa[];
  dns: string[];
  domains: string[];
  /** Option 59 (RFC 5970), with its host. */
  bootfileUrl?: { url: string; host: string };
  /** Options refused one by one, each with its reason. */
  problems: string[];
}

export type Interpret6Result = { ok: true; reply: Dhcp6Reply } | { ok: false; reason: string };

const once = (opts: Dhcp6Option[], code: number): Dhcp6Option[] => opts.filter((o) => o.code === code);

/** Status code option: code(2) then UTF-8 text; undefined when shorter than 2 bytes. */
export function decodeStatus(data: Buffer): { code: number; message: string } | undefined {
  if (data.length < 2) return undefined;
  // eslint-disable-next-line no-control-regex
  return { code: data.readUInt16BE(0), message: data.subarray(2).toString('utf8').replace(/[\x00-\x1f\x7f]/g, '?').slice(0, 200) };
}

/** Option 24: uncompressed DNS names (RFC 1035 3.1, no pointers), each a host name; a reason when malformed. */
export function decodeDomainList(data: Buffer): { ok: true; value: string[] } | { ok: false; reason: string } {
  const names: string[] = [];
  let off = 0;
  while (off < data.length) {
    const labels: string[] = [];
    let wire = 0;
    for (;;) {
      if (off >= data.length) return { ok: false, reason: `name ${names.length + 1} has no terminating zero label` };
      const len = data[off]!;
      if (len === 0) break;
      if (len > 63) return { ok: false, reason: `label length ${len} at offset ${off} (compression pointers are not allowed here; labels are at most 63)` };
      if (off + 1 + len > data.length) return { ok: false, reason: `label at offset ${off} claims ${len} bytes, only ${data.length - off - 1} left` };
      labels.push(data.subarray(off + 1, off + 1 + len).toString('latin1'));
      wire += len + 1;
      off += 1 + len;
    }
    off++;
    if (wire + 1 > 255) return { ok: false, reason: `name ${names.length + 1} is longer than 255 bytes` };
    const name = labels.join('.');
    if (labels.length === 0 || !isHostName(name)) return { ok: false, reason: `name ${JSON.stringify(name)} is not a domain name` };
    names.push(name.toLowerCase());
  }
  if (names.length === 0) return { ok: false, reason: 'empty list' };
  return { ok: true, value: names };
}

/** Option 23: a list of unicast IPv6 addresses. */
export function decodeDnsServers(data: Buffer): { ok: true; value: string[] } | { ok: false; reason: string } {
  if (data.length === 0 || data.length % 16 !== 0) return { ok: false, reason: `length ${data.length} is not a multiple of 16` };
  const out: string[] = [];
  for (let i = 0; i < data.length; i += 16) {
    const kind = classifyIPv6(data.subarray(i, i + 16));
    if (kind === 'unspecified' || kind === 'multicast' || kind === 'loopback' || kind === 'ipv4-mapped') return { ok: false, reason: `${formatIPv6(data, i)} is a ${kind} address` };
    out.push(formatIPv6(data, i));
  }
  return { ok: true, value: out };
}

function decodeIaNa(data: Buffer, n: number): { ok: true; ia: IaNa } | { ok: false; reason: string } {
  if (data.length < 12) return { ok: false, reason: `IA_NA ${n} has ${data.length} bytes, needs at least 12` };
  const inner = parseOptions6(data.subarray(12), `IA_NA ${n}`);
  if (!inner.ok) return inner;
  const ia: IaNa = { iaid: data.readUInt32BE(0), t1: data.readUInt32BE(4), t2: data.readUInt32BE(8), addresses: [] };
  if (ia.t1 > ia.t2 && ia.t2 !== 0) return { ok: false, reason: `IA_NA ${n}: T1 ${ia.t1} is after T2 ${ia.t2}` };
  for (const o of inner.options) {
    if (o.code === OPT6.statusCode) {
      const st = decodeStatus(o.data);
      if (!st) return { ok: false, reason: `IA_NA ${n}: status code option of ${o.data.length} bytes` };
      ia.status = st;
    }
    if (o.code !== OPT6.iaAddr) continue;
    if (o.data.length < 24) return { ok: false, reason: `IA_NA ${n}: IAADDR of ${o.data.length} bytes, needs at least 24` };
    const sub = parseOptions6(o.data.subarray(24), `IA_NA ${n} IAADDR`);
    if (!sub.ok) return sub;
    const kind = classifyIPv6(o.data.subarray(0, 16));
    const address = formatIPv6(o.data);
    if (kind !== 'global' && kind !== 'ula') return { ok: false, reason: `IA_NA ${n}: IAADDR ${address} is a ${kind} address` };
    const preferred = o.data.readUInt32BE(16);
    const valid = o.data.readUInt32BE(20);
    if (preferred > valid) return { ok: false, reason: `IA_NA ${n}: IAADDR ${address} preferred lifetime ${preferred} exceeds its valid lifetime ${valid}` };
    ia.addresses.push({ address, preferred, valid });
  }
  return { ok: true, ia };
}

/** Interprets a decoded ADVERTISE or REPLY; refuses it, or its informational options one by one, with reasons. */
export function interpretDhcp6(msg: Dhcp6Message): Interpret6Result {
  const opts = msg.options;
  const problems: string[] = [];
  const sid = once(opts, OPT6.serverId);
  const cid = once(opts, OPT6.clientId);
  if (sid.length !== 1) return { ok: false, reason: sid.length === 0 ? 'no server identifier (option 2)' : `${sid.length} server identifiers (option 2)` };
  if (cid.length > 1) return { ok: false, reason: `${cid.length} client identifiers (option 1)` };
  if (cid.length === 0) return { ok: false, reason: 'no client identifier (option 1)' };
  if (sid[0]!.data.length < 3 || sid[0]!.data.length > 130) return { ok: false, reason: `server identifier of ${sid[0]!.data.length} bytes (a DUID has 3-130)` };
  const reply: Dhcp6Reply = { type: msg.type, xid: msg.xid, serverId: sid[0]!.data, clientId: cid[0]!.data, preference: 0, rapidCommit: false, ias: [], dns: [], domains: [], problems };
  let n = 0;
  for (const o of opts) {
    switch (o.code) {
      case OPT6.iaNa: {
        const r = decodeIaNa(o.data, ++n);
        if (!r.ok) return r;
        reply.ias.push(r.ia);
        break;
      }
      case OPT6.statusCode: {
        const st = decodeStatus(o.data);
        if (!st) return { ok: false, reason: `status code option of ${o.data.length} bytes (needs at least 2)` };
        reply.status = st;
        break;
      }
      case OPT6.preference:
        if (o.data.length === 1) reply.preference = o.data[0]!;
        else problems.push(`preference option (7) of ${o.data.length} bytes refused (needs 1)`);
        break;
      case OPT6.rapidCommit:
        if (o.data.length === 0) reply.rapidCommit = true;
        else problems.push(`rapid commit option (14) of ${o.data.length} bytes refused (must be empty)`);
        break;
      case OPT6.dnsServers: {
        const d = decodeDnsServers(o.data);
        if (d.ok) reply.dns.push(...d.value.filter((a) => !reply.dns.includes(a)));
        else problems.push(`DNS servers option (23) refused: ${d.reason}`);
        break;
      }
      case OPT6.domainList: {
        const d = decodeDomainList(o.data);
        if (d.ok) reply.domains.push(...d.value.filter((a) => !reply.domains.includes(a)));
        else problems.push(`domain list option (24) refused: ${d.reason}`);
        break;
      }
      case OPT6.bootfileUrl: {
        const b = decodeBootfileUrl(o.data);
        if (b.ok) reply.bootfileUrl ??= { url: b.url, host: b.host };
        else problems.push(`boot-file URL option (59) refused: ${b.reason}`);
        break;
      }
    }
  }
  return { ok: true, reply };
}
