// Interprets a DHCP ACK into a typed lease and SystemImager parameter assignments (SPEC 3), each tagged with its option.

import type { Assignment } from '../params/types.js';
import { formatMac, type DhcpMessage } from './dhcp-packet.js';
import {
  classfulPrefix,
  decodeIp,
  decodeIpList,
  decodeName,
  decodePort,
  decodeServerAddress,
  decodeText,
  decodeUint,
  maskToPrefix,
  prefixToMask,
  type Decoded,
} from './dhcp-values.js';

/** What a DHCP server gave us, validated: every address is an IPv4 address, every name a host name. */
export interface Lease {
  iface: string;
  mac: string;
  ip: string;
  prefix: number;
  netmask: string;
  broadcast?: string;
  serverId: string;
  routers: string[];
  dns: string[];
  logServers: string[];
  hostname?: string;
  domain?: string;
  leaseSeconds?: number;
  /** Raw option bytes by code, as received in the ACK. */
  options: Map<number, Buffer>;
  /** Options that were present but refused, with the reason (logged, never fatal). */
  problems: string[];
}

/** An assignment from DHCP, with the option (or field) it came from, for `si-agent plan`. */
export interface DhcpAssignment extends Assignment {
  option: string; // "140", "54", "yiaddr", "link"
}

function take<T>(opts: Map<number, Buffer>, code: number, decode: (b: Buffer) => Decoded<T>, problems: string[]): T | undefined {
  const raw = opts.get(code);
  if (!raw) return undefined;
  const d = decode(raw);
  if (d.ok) return d.value;
  problems.push(`option ${code}: ${d.reason}`);
  return undefined;
}

/** Builds the lease from an ACK received on iface; `from` is the sender address (fallback server id). */
export function interpretLease(msg: DhcpMessage, iface: string, from: string): Lease {
  const o = msg.options;
  const problems: string[] = [];
  const mask = take(o, 1, decodeIp, problems);
  let prefix = mask === undefined ? undefined : maskToPrefix(mask);
  if (mask !== undefined && prefix === undefined) problems.push(`option 1: ${mask} is not a contiguous netmask`);
  prefix ??= classfulPrefix(msg.yiaddr);
  const lease: Lease = {
    iface,
    mac: formatMac(msg.chaddr),
    ip: msg.yiaddr,
    prefix,
    netmask: prefixToMask(prefix),
    serverId: take(o, 54, decodeIp, problems) ?? from,
    routers: take(o, 3, decodeIpList, problems) ?? [],
    dns: take(o, 6, decodeIpList, problems) ?? [],
    logServers: take(o, 7, decodeIpList, problems) ?? [],
    options: o,
    problems,
  };
  const bcast = take(o, 28, decodeIp, problems);
  if (bcast) lease.broadcast = bcast;
  const hostname = take(o, 12, decodeName, problems);
  if (hostname) lease.hostname = hostname;
  const domain = take(o, 15, (b) => decodeName(b, true), problems);
  if (domain) lease.domain = domain;
  const time = take(o, 51, decodeUint, problems);
  if (time !== undefined) lease.leaseSeconds = time;
  return lease;
}

/** The server address for IMAGESERVER: option 140, else option 100, else the server identifier (SPEC 3). */
export function chooseImageServer(lease: Lease): { value: string; option: string; form: string; problems: string[] } {
  const problems: string[] = [];
  for (const code of [140, 100]) {
    const raw = lease.options.get(code);
    if (!raw) continue;
    const d = decodeServerAddress(raw);
    if (d.ok) return { value: d.value, option: String(code), form: d.form, problems };
    problems.push(`option ${code}: ${d.reason}`);
  }
  return { value: lease.serverId, option: '54', form: 'server identifier', problems };
}

/**
 * SystemImager assignments (source "dhcp") from a lease: IMAGESERVER (140/100/54),
 * LOG_SERVER_PORT (141), SSH_DOWNLOAD_URL (142), FLAMETHROWER_DIRECTORY_PORTBASE (143),
 * TMPFS_STAGING (144), LOG_SERVER (7, first), HOSTNAME (12), DOMAINNAME (15),
 * NETMASK (1), BROADCAST (28), GATEWAY (3, first), plus IPADDR (yiaddr) and DEVICE (the link).
 * Undecodable options are left out and listed in `problems`; decoded text that is
 * merely a bad value (TMPFS_STAGING=maybe) is kept so validation names it as from DHCP.
 */
export function leaseToAssignments(lease: Lease): DhcpAssignment[] {
  const out: DhcpAssignment[] = [];
  const problems: string[] = [];
  const add = (name: string, value: string | undefined, option: string) => {
    if (value !== undefined) out.push({ name, value, source: 'dhcp', option });
  };
  const server = chooseImageServer(lease);
  problems.push(...server.problems);
  add('IMAGESERVER', server.value, server.option);
  const o = lease.options;
  add('LOG_SERVER_PORT', take(o, 141, decodePort, problems), '141');
  add('SSH_DOWNLOAD_URL', take(o, 142, decodeText, problems), '142');
  const portbase = o.get(143);
  // An empty option 143 means "multicast, default portbase" just as an empty parameter does.
  add('FLAMETHROWER_DIRECTORY_PORTBASE', portbase?.length === 0 ? '' : take(o, 143, decodePort, problems), '143');
  add('TMPFS_STAGING', take(o, 144, decodeText, problems), '144');
  add('LOG_SERVER', lease.logServers[0], '7');
  add('HOSTNAME', lease.hostname, '12');
  add('DOMAINNAME', lease.domain, '15');
  add('IPADDR', lease.ip, 'yiaddr');
  add('NETMASK', lease.netmask, o.has(1) ? '1' : 'classful');
  add('BROADCAST', lease.broadcast, '28');
  add('GATEWAY', lease.routers[0], '3');
  add('DEVICE', lease.iface, 'link');
  for (const p of problems) if (!lease.problems.includes(p)) lease.problems.push(p);
  return out;
}

/** One line per assignment, "NAME=value (dhcp option N)", for `si-agent plan` and the log. */
export function describeDhcpAssignments(list: readonly DhcpAssignment[]): string[] {
  return list.map((a) => `${a.name}=${a.value} (dhcp ${/^\d+$/.test(a.option) ? 'option ' + a.option : a.option})`);
}
