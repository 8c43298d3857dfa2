// IPv6 beside (or instead of) IPv4 in the bring-up: which link, the DHCPv6 answers as parameters, one resolv.conf for both.

import { getString } from '../params/validate.js';
import type { ConfigureOptions, NetworkResult } from './network-types.js';
import type { DhcpAssignment } from './dhcp-options.js';
import { configureIPv6, type Ipv6Mode, type Ipv6Result } from './ipv6-configure.js';
import { imageServerFromDhcp6 } from './dhcp6-bootfile.js';
import { writeResolvConf, type LinkInfo } from './links.js';
import { mergeResolvLists, readDnsServers } from './resolv-conf.js';

/** Starts the IPv6 bring-up on one link. */
export function startIPv6(opts: ConfigureOptions, mode: Ipv6Mode, link: LinkInfo): Promise<Ipv6Result> {
  const p = configureIPv6(
    {
      params: opts.params,
      run: opts.run,
      report: opts.report,
      iface: link.name,
      mac: link.mac,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.ipv6?.timeoutMs ? { timeoutMs: opts.ipv6.timeoutMs } : {}),
      ...(opts.ipv6?.routeWaitMs !== undefined ? { routeWaitMs: opts.ipv6.routeWaitMs } : {}),
      ...(opts.ipv6?.dhcp6 ? { dhcp6: opts.ipv6.dhcp6 } : {}),
    },
    mode,
  );
  p.catch(() => undefined); // awaited by the caller; an IPv4 failure first must not leave it unhandled
  return p;
}

/** IPv4 is up (r4): IPv6 on the same link (already started as `early` when the link was known), then DNS for both. */
export async function withIPv6(opts: ConfigureOptions, mode: Ipv6Mode | 'off', r4: NetworkResult, candidates: LinkInfo[], early?: Promise<Ipv6Result>): Promise<NetworkResult> {
  if (mode === 'off') return r4;
  const link = candidates.find((l) => l.name === r4.iface) ?? candidates[0]!;
  const r6 = early ?? startIPv6(opts, mode, link);
  const v6 = await r6;
  await writeDns(opts, r4, v6);
  return { ...r4, ipv6: v6, dhcp: [...r4.dhcp, ...assignments6(v6, r4.dhcp), ...imageServer6(opts, v6, r4.dhcp)] };
}

/** IPV4_ASSIGNMENT=off: IPv6 alone, on DEVICE or the one link (`done`: already brought up there, by ipv6OnLinks). */
export async function ipv6Only(opts: ConfigureOptions, mode: Ipv6Mode, link: LinkInfo, done?: Ipv6Result): Promise<NetworkResult> {
  if (!done) opts.report.info(`IPv6 only (IPV4_ASSIGNMENT=off): ${mode} on ${link.name}`);
  const v6 = done ?? (await startIPv6(opts, mode, link));
  await writeDns(opts, undefined, v6);
  const dhcp: DhcpAssignment[] = [{ name: 'DEVICE', value: link.name, source: 'dhcp', option: 'link' }];
  return { mode: 'ipv6', iface: link.name, ip: v6.address, ipv6: v6, dhcp: [...dhcp, ...assignments6(v6, dhcp), ...imageServer6(opts, v6, dhcp)] };
}

/** What DHCPv6 told, as parameters below local.cfg and the command line: the first search domain as DOMAINNAME. */
export function assignments6(v6: Ipv6Result, have: readonly DhcpAssignment[]): DhcpAssignment[] {
  const out: DhcpAssignment[] = [];
  if (v6.lease && v6.domains[0] && !have.some((a) => a.name === 'DOMAINNAME')) out.push({ name: 'DOMAINNAME', value: v6.domains[0], source: 'dhcp', option: 'dhcp6 24' });
  return out;
}

/** IMAGESERVER from DHCPv6 when neither the parameters nor IPv4's lease name one; the log says where it came from. */
function imageServer6(opts: ConfigureOptions, v6: Ipv6Result, have: readonly DhcpAssignment[]): DhcpAssignment[] {
  if (!v6.lease || getString(opts.params, 'IMAGESERVER') || have.some((a) => a.name === 'IMAGESERVER')) return [];
  const { why, ...server } = imageServerFromDhcp6(v6.lease);
  opts.report.info(`IMAGESERVER is not set: using ${server.value}, ${why}`);
  return [server];
}

/**
 * One resolv.conf for both families: IPv4's servers first (the lease's, or DNS_SERVERS of a static network), then
 * DHCPv6's, then DNS_SERVERS given beside DHCP; search domains likewise. Rewritten only when IPv6 adds something.
 */
async function writeDns(opts: ConfigureOptions, r4: NetworkResult | undefined, v6: Ipv6Result): Promise<void> {
  const given = readDnsServers(opts.params);
  const own = !r4 && given.length > 0;
  if (v6.dns.length === 0 && v6.domains.length === 0 && !own) return;
  const domain = r4?.lease?.domain ?? (getString(opts.params, 'DOMAINNAME') || undefined);
  const { servers, domains } = mergeResolvLists([
    { servers: r4?.lease ? r4.lease.dns : r4 ? given : [], domains: [domain] },
    { servers: v6.dns, domains: v6.domains },
    { servers: given },
  ]);
  await writeResolvConf(opts.resolvConfPath, servers, domains.join(' ') || undefined);
  opts.report.info(`resolv.conf: ${servers.join(', ') || 'no name servers'}${domains.length > 0 ? `, search ${domains.join(' ')}` : ''}`);
}
