// The IPv6 part of an interface's live settings for stage's local.cfg: how its global address came (static, DHCPv6,
// SLAAC) from `ip -j -6 addr` and `ip -j -6 route show default`; pure.

import { isIPv6 } from 'node:net';

export interface LiveIPv6 {
  /** IPV6_ASSIGNMENT for the reinstall. */
  assignment: 'auto' | 'dhcp6' | 'static';
  address: string;
  prefix: number;
  /** The default router (static only: SLAAC and DHCPv6 learn it from router advertisements again). */
  gateway?: string;
}

interface Addr6 {
  family?: string;
  local?: string;
  prefixlen?: number;
  scope?: string;
  dynamic?: boolean;
  temporary?: boolean;
  deprecated?: boolean;
  tentative?: boolean;
  dadfailed?: boolean;
}

/**
 * Reads the interface's global IPv6 address and how it came: no `dynamic` flag is a configured (static) address;
 * a dynamic /128 is a DHCPv6 lease; another dynamic one is SLAAC. Privacy (temporary), deprecated and tentative
 * addresses are skipped. With several, static wins over DHCPv6, DHCPv6 over SLAAC (a network that offers both flags
 * is run for DHCPv6). Undefined when the interface has no global IPv6 address.
 */
export function parseLiveIPv6(iface: string, addrJson: string, routeJson: string): LiveIPv6 | undefined {
  const links = JSON.parse(addrJson || '[]') as Array<{ ifname?: string; addr_info?: Addr6[] }>;
  const link = links.find((l) => l.ifname === iface) ?? links[0];
  const usable = (link?.addr_info ?? []).filter((a) => a.family === 'inet6' && a.scope === 'global' && a.local && !a.temporary && !a.deprecated && !a.tentative && !a.dadfailed);
  const kind = (a: Addr6): LiveIPv6['assignment'] => (!a.dynamic ? 'static' : a.prefixlen === 128 ? 'dhcp6' : 'auto');
  const rank = { static: 0, dhcp6: 1, auto: 2 } as const;
  const best = usable.sort((a, b) => rank[kind(a)] - rank[kind(b)])[0];
  if (!best) return undefined;
  const assignment = kind(best);
  const routes = JSON.parse(routeJson || '[]') as Array<{ dst?: string; gateway?: string; dev?: string }>;
  const gw = routes.find((r) => r.dst === 'default' && r.dev === iface && r.gateway && isIPv6(r.gateway))?.gateway;
  return { assignment, address: best.local!, prefix: best.prefixlen ?? 64, ...(assignment === 'static' && gw ? { gateway: gw } : {}) };
}

/** IPv6 name servers from resolv.conf that a reinstall can use (no loopback, no link-local without its zone). */
export function ipv6NameServers(resolvConf: string): string[] {
  return [...resolvConf.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]!).filter((a) => isIPv6(a) && a !== '::1' && !/^fe80:/i.test(a));
}
