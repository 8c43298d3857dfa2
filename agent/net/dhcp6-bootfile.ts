// Where an IPv6-only install looks for the image server when no IMAGESERVER is given: the host of the DHCPv6 boot-file
// URL (option 59, RFC 5970), else the DHCPv6 server that leased the address. There is no option 140 in DHCPv6.

import { isIP } from 'node:net';
import { isHostName } from '../params/validate.js';
import type { DhcpAssignment } from './dhcp-options.js';
import { classifyIPv6, normalizeIPv6 } from './ipv6-values.js';

/** Option 59: a URL (printable ASCII) with a host; the URL and its host (IPv6 unbracketed), or a reason. */
export function decodeBootfileUrl(data: Buffer): { ok: true; url: string; host: string } | { ok: false; reason: string } {
  if (data.length === 0) return { ok: false, reason: 'empty' };
  // eslint-disable-next-line no-control-regex
  if (/[^\x21-\x7e]/.test(data.toString('latin1'))) return { ok: false, reason: 'has bytes that are not printable ASCII' };
  const url = data.toString('latin1');
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return { ok: false, reason: `${JSON.stringify(url.slice(0, 80))} is not a URL` };
  }
  if (host === '') return { ok: false, reason: `${JSON.stringify(url.slice(0, 80))} names no host` };
  if (isIP(host) === 6) {
    const kind = classifyIPv6(host);
    if (kind !== 'global' && kind !== 'ula') return { ok: false, reason: `its host ${host} is a ${kind} address` };
    return { ok: true, url, host: normalizeIPv6(host) };
  }
  if (!isIP(host) && !isHostName(host)) return { ok: false, reason: `its host ${JSON.stringify(host)} is not a host name` };
  return { ok: true, url, host };
}

/** What of a DHCPv6 lease (dhcp6-client.ts) names the image server. */
export interface LeaseServer {
  iface: string;
  /** The address the server answered from (zone stripped). */
  server: string;
  bootfileUrl?: { url: string; host: string };
}

/**
 * IMAGESERVER from a DHCPv6 lease (source "dhcp", below local.cfg and the command line): the boot-file URL's host,
 * else the server's own address (a link-local one with the link as its zone, as the server answered from it).
 */
export function imageServerFromDhcp6(lease: LeaseServer): DhcpAssignment & { why: string } {
  if (lease.bootfileUrl) {
    return { name: 'IMAGESERVER', value: lease.bootfileUrl.host, source: 'dhcp', option: 'dhcp6 59', why: `the host of the DHCPv6 boot-file URL ${lease.bootfileUrl.url}` };
  }
  const linkLocal = classifyIPv6(lease.server) === 'link-local';
  const value = linkLocal ? `${lease.server}%${lease.iface}` : lease.server;
  return { name: 'IMAGESERVER', value, source: 'dhcp', option: 'dhcp6 server', why: 'the DHCPv6 server that leased the address (no boot-file URL, option 59, in its answer)' };
}
