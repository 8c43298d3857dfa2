// Reads the live settings of a network interface (address, prefix, gateway, DNS, host name, MAC) for stage's local.cfg.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { SiError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import type { LiveSettings } from './local-cfg-text.js';
import { ipv6NameServers, parseLiveIPv6 } from './live-settings-ipv6.js';

interface IpAddr {
  ifname?: string;
  address?: string;
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number; dynamic?: boolean; scope?: string }>;
}
interface IpRoute {
  dst?: string;
  gateway?: string;
  dev?: string;
}

/** Parses `ip -j -4 addr show dev X` and `ip -j -4 route show default` output (and their `-6` forms) plus resolv.conf text; pure. */
export function parseLiveSettings(iface: string, addrJson: string, routeJson: string, resolvConf: string, host: string | undefined, addr6Json = '[]', route6Json = '[]'): LiveSettings {
  const addrs = JSON.parse(addrJson || '[]') as IpAddr[];
  const link = addrs.find((a) => a.ifname === iface) ?? addrs[0];
  const inet = (link?.addr_info ?? []).find((i) => i.family === 'inet' && i.scope !== 'host');
  const routes = JSON.parse(routeJson || '[]') as IpRoute[];
  const gw = routes.find((r) => r.dst === 'default' && r.dev === iface && r.gateway) ?? routes.find((r) => r.dst === 'default' && r.gateway);
  const nameservers = [...resolvConf.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]!).filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a) && !a.startsWith('127.'));
  const search = /^\s*(?:domain|search)\s+(\S+)/m.exec(resolvConf)?.[1];
  const ipv6 = parseLiveIPv6(iface, addr6Json, route6Json);
  if (ipv6) nameservers.push(...ipv6NameServers(resolvConf));
  return {
    iface,
    mac: link?.address ?? '',
    ...(inet?.local ? { ip: inet.local, prefix: inet.prefixlen ?? 32 } : {}),
    ...(gw?.gateway ? { gateway: gw.gateway } : {}),
    nameservers,
    ...(search ? { searchDomain: search } : {}),
    ...(host ? { hostname: host } : {}),
    dynamic: inet?.dynamic === true,
    ...(ipv6 ? { ipv6 } : {}),
  };
}

/** The interface names this machine has, for error messages. */
function linkNames(): string[] {
  try {
    return readdirSync('/sys/class/net').filter((n) => n !== 'lo').sort();
  } catch {
    return [];
  }
}

/** Reads the settings of iface now (ip, /etc/resolv.conf); the host name from the target's /etc/hostname, else the kernel's. */
export async function readLiveSettings(run: Runner, iface: string, root: string): Promise<LiveSettings> {
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(iface) || !existsSync(join('/sys/class/net', iface))) {
    throw new SiError('E_USAGE', `--configure-from ${JSON.stringify(iface)}: no such network interface (this machine has: ${linkNames().join(', ') || 'none'})`);
  }
  const addr = await run('ip', ['-j', '-4', 'addr', 'show', 'dev', iface], { timeout: 10_000 });
  const route = await run('ip', ['-j', '-4', 'route', 'show', 'default'], { timeout: 10_000, allowFail: true });
  const addr6 = await run('ip', ['-j', '-6', 'addr', 'show', 'dev', iface], { timeout: 10_000, allowFail: true });
  const route6 = await run('ip', ['-j', '-6', 'route', 'show', 'default'], { timeout: 10_000, allowFail: true });
  const resolv = existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : '';
  const hostFile = join(root, 'etc/hostname');
  const host = (existsSync(hostFile) ? readFileSync(hostFile, 'utf8').trim() : '') || hostname();
  const ok = (r: { code: number | null; stdout: string }) => (r.code === 0 && r.stdout.trim() ? r.stdout : '[]');
  const s = parseLiveSettings(iface, addr.stdout, ok(route), resolv, host || undefined, ok(addr6), ok(route6));
  // `ip -4` leaves the link address out: the MAC comes from sysfs.
  if (!s.mac) s.mac = readFileSync(join('/sys/class/net', iface, 'address'), 'utf8').trim();
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(s.mac)) throw new SiError('E_USAGE', `--configure-from ${iface}: it has no Ethernet MAC address (${JSON.stringify(s.mac)})`);
  if (!s.ip && !s.ipv6) throw new SiError('E_USAGE', `--configure-from ${iface}: it has no IPv4 address and no global IPv6 address to carry into the reinstall`);
  return s;
}
