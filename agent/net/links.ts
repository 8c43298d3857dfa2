// Network links: list Ethernet links from /sys/class/net, bring them up, wait for carrier, set addresses, routes and resolv.conf.

import { ipCommand } from '../exec/tools.js';
import { naturalCompare } from '../natural-compare.js';
import { readdir, readFile, writeFile, access } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import type { Runner } from '../exec/runner.js';
import { SiError } from '../errors.js';
import { sleepAbortable } from './retry.js';
import { parseMac } from './dhcp-packet.js';
import { networkOf, strictIPv4 } from './dhcp-values.js';

/*
 * Why `ip` through the runner and not netlink from Node: Node has no netlink
 * sockets without a native addon, and a hand-rolled rtnetlink encoder would be a
 * second, untested iproute2. `ip` (iproute2, or busybox's applet in the initrd)
 * takes argv arrays, is logged like every other command, and its failures carry
 * its own message. Reading state goes through /sys/class/net, which needs nothing.
 */

export interface LinkInfo {
  name: string;
  mac: Buffer;
  /** true/false from the carrier file; undefined while the link is down (the kernel refuses to say). */
  carrier: boolean | undefined;
  operstate: string;
}

const DEFAULT_SYS = '/sys/class/net';

async function readTrim(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Reads one link's state, or undefined when it is not an Ethernet link (lo, bridges, bonds, tunnels...). */
export async function readLink(name: string, sysClassNet = DEFAULT_SYS): Promise<LinkInfo | undefined> {
  const dir = join(sysClassNet, name);
  if (name === 'lo' || (await readTrim(join(dir, 'type'))) !== '1') return undefined;
  // Bridges and bonds have type 1 too, but they are not where a DHCP server answers a fresh machine; veth stays allowed (tests).
  if ((await exists(join(dir, 'bridge'))) || (await exists(join(dir, 'bonding')))) return undefined;
  const mac = parseMac((await readTrim(join(dir, 'address'))) ?? '');
  if (!mac || mac.every((b) => b === 0)) return undefined;
  const carrier = await readTrim(join(dir, 'carrier'));
  return { name, mac, carrier: carrier === '1' ? true : carrier === '0' ? false : undefined, operstate: (await readTrim(join(dir, 'operstate'))) ?? 'unknown' };
}

/** Ethernet links, sorted by name (eth0 before eth1), with MAC and carrier. */
export async function listEthernetLinks(sysClassNet = DEFAULT_SYS): Promise<LinkInfo[]> {
  let names: string[];
  try {
    names = await readdir(sysClassNet);
  } catch (err) {
    throw new SiError('E_NETWORK', `cannot list network links in ${sysClassNet}: ${(err as Error).message}`, { cause: err });
  }
  const links = await Promise.all(names.map((n) => readLink(n, sysClassNet)));
  return links.filter((l): l is LinkInfo => l !== undefined).sort((a, b) => naturalCompare(a.name, b.name));
}

/** Whether the link is administratively up (IFF_UP in its sysfs flags). */
export async function isUp(iface: string, sysClassNet = DEFAULT_SYS): Promise<boolean> {
  const flags = await readTrim(join(sysClassNet, iface, 'flags'));
  return flags !== undefined && (Number.parseInt(flags, 16) & 1) === 1;
}

/** `ip link set dev IFACE up`, unless it is up already (in the initrd PID 1 brings links up as their drivers load). */
export async function bringUp(run: Runner, iface: string): Promise<void> {
  if (await isUp(iface)) return;
  await run(...ipCommand(['link', 'set', 'dev', iface, 'up']), { timeout: 10_000 });
}

/** Waits until the link reports carrier; true when it did within ms. */
export async function waitForCarrier(iface: string, ms: number, opts: { sysClassNet?: string; signal?: AbortSignal; pollMs?: number } = {}): Promise<boolean> {
  const until = Date.now() + ms;
  const file = join(opts.sysClassNet ?? DEFAULT_SYS, iface, 'carrier');
  for (;;) {
    if ((await readTrim(file)) === '1') return true;
    if (Date.now() >= until) return false;
    await sleepAbortable(Math.min(opts.pollMs ?? 25, Math.max(1, until - Date.now())), opts.signal);
  }
}

export interface InterfaceConfig {
  iface: string;
  ip: string;
  prefix: number;
  broadcast?: string;
  /** The default route, out of gatewayDev (default: iface). */
  gateway?: string;
  gatewayDev?: string;
}

/** What did not take of an interface's configuration (the address itself always did). */
export interface InterfaceResult {
  subnetRouteError?: string;
  defaultRouteError?: string;
}

/**
 * Sets (or keeps) ip/prefix with its broadcast on iface, the subnet's route and the default route, in one iproute2
 * `ip -force -batch` run (one process start instead of two or three: a tenth of a second each, emulated). The routes
 * carry `quickack 1`: the image server's rsync daemon sends small segments without TCP_NODELAY, and each then waited
 * for this end's delayed ACK (40 ms and more per connection, several connections per install). No lifetime is given,
 * so an expired lease keeps its address. Throws when the address could not be set; a route that could not is said
 * in the result.
 */
export async function configureInterface(run: Runner, c: InterfaceConfig): Promise<InterfaceResult> {
  // ip's batch reader splits its lines into words: each value must be one word of the kind it claims to be.
  const ifname = /^[A-Za-z0-9_.:@-]{1,15}$/;
  const bad = [
    ...[c.ip, c.gateway, c.broadcast].filter((v) => v !== undefined && !strictIPv4(v)),
    ...[c.iface, c.gatewayDev].filter((v) => v !== undefined && !ifname.test(v)),
    ...(Number.isInteger(c.prefix) && c.prefix >= 0 && c.prefix <= 32 ? [] : [String(c.prefix)]),
  ];
  if (bad.length > 0) throw new SiError('E_NETWORK', `not an address, prefix or interface name: ${bad.map((v) => JSON.stringify(v)).join(', ')}`);
  const lines = [
    `addr replace ${c.ip}/${c.prefix} broadcast ${c.broadcast ?? '+'} dev ${c.iface}`,
    `route replace ${networkOf(c.ip, c.prefix).network}/${c.prefix} dev ${c.iface} proto kernel scope link src ${c.ip} quickack 1`,
  ];
  if (c.gateway) lines.push(`route replace default via ${c.gateway} dev ${c.gatewayDev ?? c.iface} quickack 1`);
  const r = await run('ip', ['-force', '-batch', '-'], { input: lines.join('\n') + '\n', timeout: 10_000, allowFail: true });
  if (r.code === 0) return {};
  // ip prints each failed command's error, then "Command failed -:<line>".
  const errors = new Map<number, string>();
  let pending: string[] = [];
  for (const line of r.stderr.split('\n')) {
    const m = /^Command failed -:(\d+)/.exec(line);
    if (m) {
      errors.set(Number(m[1]), pending.join('; ') || 'failed');
      pending = [];
    } else if (line.trim()) pending.push(line.trim());
  }
  if (errors.size === 0 || errors.has(1)) throw new SiError('E_NETWORK', `cannot set ${c.ip}/${c.prefix} on ${c.iface}: ${errors.get(1) ?? (r.stderr.trim() || `ip exit code ${String(r.code)}`)}`);
  return {
    ...(errors.has(2) ? { subnetRouteError: errors.get(2)! } : {}),
    ...(errors.has(3) ? { defaultRouteError: errors.get(3)! } : {}),
  };
}

/** Drops every IPv4 address of iface (and with the last, the routes through it). */
export async function flushAddresses(run: Runner, iface: string): Promise<void> {
  await run(...ipCommand(['-4', 'addr', 'flush', 'dev', iface]), { timeout: 10_000 });
}

/** Writes resolv.conf: the domain(s, space-separated) as `search` and each name server (validated IPv4 or IPv6). */
export async function writeResolvConf(path: string, servers: readonly string[], domain?: string): Promise<void> {
  const lines = ['# written by si-agent'];
  if (domain && /^[A-Za-z0-9.-]+( [A-Za-z0-9.-]+)*$/.test(domain)) lines.push(`search ${domain}`);
  for (const s of servers) if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s) || (isIPv6(s) && !s.includes('%'))) lines.push(`nameserver ${s}`);
  await writeFile(path, lines.join('\n') + '\n');
}
