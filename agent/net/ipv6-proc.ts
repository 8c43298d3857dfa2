// IPv6 state of a link read from /proc/net (addresses with their DAD state, routes) and its sysctls written in /proc/sys.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SiError } from '../errors.js';
import { formatIPv6 } from './ipv6-values.js';

/*
 * Why /proc and not `ip -j -6 addr`: the bring-up polls these every 100 ms while DAD and router advertisements
 * run; reading two small files costs nothing and needs no process (and nothing in the log per poll). Both files
 * show the reading process's network namespace.
 */

export interface Inet6Address {
  address: string;
  prefix: number;
  scope: 'global' | 'link' | 'host' | 'site' | 'other';
  tentative: boolean;
  dadFailed: boolean;
  deprecated: boolean;
  iface: string;
}

export interface Inet6Route {
  dest: string;
  destLen: number;
  gateway: string;
  /** From a router advertisement (RTF_ADDRCONF or RTF_DEFAULT). */
  fromRa: boolean;
  iface: string;
}

const hex16 = (h: string) => formatIPv6(Buffer.from(h, 'hex'));
const SCOPES: Record<number, Inet6Address['scope']> = { 0: 'global', 0x20: 'link', 0x10: 'host', 0x40: 'site' };

/** Parses /proc/net/if_inet6 (address, ifindex, prefix, scope, flags, name; all hex but the name). */
export function parseIfInet6(text: string): Inet6Address[] {
  const out: Inet6Address[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !/^[0-9a-f]{32}$/i.test(f[0]!)) continue;
    const flags = Number.parseInt(f[4]!, 16);
    out.push({
      address: hex16(f[0]!),
      prefix: Number.parseInt(f[2]!, 16),
      scope: SCOPES[Number.parseInt(f[3]!, 16)] ?? 'other',
      tentative: (flags & 0x40) !== 0,
      dadFailed: (flags & 0x08) !== 0,
      deprecated: (flags & 0x20) !== 0,
      iface: f[5]!,
    });
  }
  return out;
}

/** Parses /proc/net/ipv6_route (dest, len, src, len, next hop, metric, refcnt, use, flags, name); rejects skipped. */
export function parseIpv6Routes(text: string): Inet6Route[] {
  const out: Inet6Route[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^[0-9a-f]{32}$/i.test(f[0]!)) continue;
    const flags = Number.parseInt(f[8]!, 16);
    if (flags & 0x0200) continue; // RTF_REJECT: the unreachable defaults on lo
    out.push({ dest: hex16(f[0]!), destLen: Number.parseInt(f[1]!, 16), gateway: hex16(f[4]!), fromRa: (flags & 0x50000) !== 0, iface: f[9]! });
  }
  return out;
}

export interface ProcPaths {
  /** Default /proc (tests of the parsers pass captured text instead). */
  proc?: string;
}

/** The IPv6 addresses of one link. */
export async function readIPv6Addresses(iface: string, p: ProcPaths = {}): Promise<Inet6Address[]> {
  const text = await readFile(join(p.proc ?? '/proc', 'net/if_inet6'), 'utf8').catch(() => '');
  return parseIfInet6(text).filter((a) => a.iface === iface);
}

/** The IPv6 routes through one link. */
export async function readIPv6Routes(iface: string, p: ProcPaths = {}): Promise<Inet6Route[]> {
  const text = await readFile(join(p.proc ?? '/proc', 'net/ipv6_route'), 'utf8').catch(() => '');
  return parseIpv6Routes(text).filter((r) => r.iface === iface);
}

/** The default route's gateway through iface, if there is one. */
export function defaultGateway(routes: readonly Inet6Route[]): string | undefined {
  return routes.find((r) => r.destLen === 0 && r.gateway !== '::')?.gateway;
}

const IFNAME = /^(?!\.\.?$)[A-Za-z0-9_.:@-]{1,15}$/;

/** Writes net.ipv6.conf.IFACE.KEY; E_NETWORK names the setting when the kernel refuses it. */
export async function writeIPv6Sysctl(iface: string, key: string, value: string, p: ProcPaths = {}): Promise<void> {
  if (!IFNAME.test(iface)) throw new SiError('E_NETWORK', `not an interface name: ${JSON.stringify(iface)}`);
  const file = join(p.proc ?? '/proc', 'sys/net/ipv6/conf', iface, key);
  try {
    await writeFile(file, value + '\n');
  } catch (err) {
    throw new SiError('E_NETWORK', `cannot set net.ipv6.conf.${iface}.${key}=${value} (${file}): ${(err as Error).message}`, { cause: err });
  }
}

/** Reads net.ipv6.conf.IFACE.KEY (undefined when absent: IPv6 not in this kernel). */
export async function readIPv6Sysctl(iface: string, key: string, p: ProcPaths = {}): Promise<string | undefined> {
  if (!IFNAME.test(iface)) return undefined;
  return (await readFile(join(p.proc ?? '/proc', 'sys/net/ipv6/conf', iface, key), 'utf8').catch(() => undefined))?.trim();
}
