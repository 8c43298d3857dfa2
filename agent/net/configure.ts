// Network bring-up (SPEC 1 step 4): static from parameters when IPADDR is set, else ETHER_SLEEP then DHCP.

import { SiError } from '../errors.js';
import type { Reporter } from '../report/events.js';
import type { Params } from '../params/types.js';
import { getEnum, getString, getUint } from '../params/validate.js';
import { startIPv6, withIPv6 } from './ipv6-network.js';
import { ipv6OnLinks } from './ipv6-links.js';
import type { Ipv6Mode } from './ipv6-configure.js';
import type { ConfigureOptions, NetworkResult } from './network-types.js';
import { runDhcpOnLinks } from './dhcp-client.js';
import { leaseToAssignments, describeDhcpAssignments, type Lease } from './dhcp-options.js';
import { classfulPrefix, maskToPrefix } from './dhcp-values.js';
import { bringUp, configureInterface, listEthernetLinks, waitForCarrier, writeResolvConf, type LinkInfo } from './links.js';
import { setUpLinkStack } from './link-stack.js';
import { leaseNameServers, readDnsServers } from './resolv-conf.js';
import { sleepAbortable } from './retry.js';

export type { ConfigureOptions, NetworkResult } from './network-types.js';

/** Brings the install network up (IPv4 statically or by DHCP, IPv6 per IPV6_ASSIGNMENT) and says which link it used. */
export async function configureNetwork(opts: ConfigureOptions): Promise<NetworkResult> {
  const { params, report } = opts;
  const v4 = ipv4Mode(params);
  const v6 = (getEnum(params, 'IPV6_ASSIGNMENT') ?? 'off') as Ipv6Mode | 'off';
  if (v4 === 'off' && v6 === 'off') throw new SiError('E_PARAM', `IPV4_ASSIGNMENT=off (${params.get('IPV4_ASSIGNMENT')?.source ?? 'parameters'}) with IPV6_ASSIGNMENT=off leaves no network to install over`);
  // A bond or VLAN the parameters ask for is built first (link-stack.ts): DHCP or the address goes on its top link.
  const top = await setUpLinkStack(opts);
  const all = top ? [top] : await listEthernetLinks(opts.sysClassNet);
  const device = top?.name ?? (getString(params, 'DEVICE') || undefined);
  if (device && !all.some((l) => l.name === device)) {
    throw new SiError('E_NETWORK', `DEVICE=${device}: no such Ethernet link (found: ${all.map((l) => l.name).join(', ') || 'none'})`);
  }
  if (all.length === 0) throw new SiError('E_NETWORK', 'no Ethernet link found (is the NIC driver loaded?)');
  const candidates = device ? all.filter((l) => l.name === device) : all;
  for (const l of candidates) await bringUp(opts.run, l.name);
  const withCarrier = top ? (top.carrier ? [top] : []) : await waitForAnyCarrier(candidates, opts);
  stopIfAborted(opts.signal);
  if (v4 === 'static') return await withIPv6(opts, v6, await configureStatic(opts, getString(params, 'IPADDR') ?? '', device ?? withCarrier[0]?.name ?? candidates[0]!.name), candidates);
  // ETHER_SLEEP holds back DHCP (and, with IPv4 off, the wait for router advertisements and DHCPv6).
  if (v4 === 'dhcp' || v6 !== 'static') await etherSleep(getUint(params, 'ETHER_SLEEP'), report, opts.signal);
  // No DEVICE: SLAAC or DHCPv6 on every link with carrier at once, the first up wins (ipv6-links.ts).
  if (v4 === 'off') return await ipv6OnLinks(opts, v6 as Ipv6Mode, withCarrier.length > 0 ? withCarrier : [candidates[0]!]);
  // The link IPv6 comes up on, known before DHCP picks one when there is only one: then both run at once.
  const links = withCarrier.length > 0 ? withCarrier : candidates;
  const early6 = v6 !== 'off' && links.length === 1 ? startIPv6(opts, v6, links[0]!) : undefined;
  try {
    return await withIPv6(opts, v6, await configureDhcp(opts, links, withCarrier.length === 0 ? candidates : undefined), candidates, early6);
  } catch (err) {
    await early6?.catch(() => undefined);
    throw err;
  }
}

/** IPV4_ASSIGNMENT, or as before it existed: static when IPADDR is set, else DHCP. */
function ipv4Mode(params: Params): 'dhcp' | 'static' | 'off' {
  const m = getEnum(params, 'IPV4_ASSIGNMENT') as 'dhcp' | 'static' | 'off' | undefined;
  const ip = getString(params, 'IPADDR') || undefined;
  if (m === 'static' && !ip) throw new SiError('E_PARAM', `IPV4_ASSIGNMENT=static (${params.get('IPV4_ASSIGNMENT')?.source ?? 'parameters'}) needs IPADDR`);
  return m ?? (ip ? 'static' : 'dhcp');
}

async function configureDhcp(opts: ConfigureOptions, links: LinkInfo[], noCarrier: LinkInfo[] | undefined): Promise<NetworkResult> {
  const { params, report } = opts;
  if (noCarrier) report.warn(`no carrier on ${noCarrier.map((l) => l.name).join(', ')}; trying DHCP anyway`);
  stopIfAborted(opts.signal);
  report.info(`DHCP on ${links.map((l) => l.name).join(', ')}${links.length > 1 ? ' at once; the first lease wins' : ''}`);
  const hostname = getString(params, 'HOSTNAME') || undefined;
  const lease = await runDhcpOnLinks(
    links.map((l) => ({ iface: l.name, mac: l.mac })),
    { run: opts.run, report, timeoutMs: opts.dhcpTimeoutMs ?? 120_000, ...(opts.signal ? { signal: opts.signal } : {}), ...(hostname ? { hostname } : {}), ...opts.dhcp },
  );
  await applyLease(opts, lease);
  const dhcp = leaseToAssignments(lease);
  for (const p of lease.problems) report.warn(`DHCP on ${lease.iface}: ${p}`);
  for (const line of describeDhcpAssignments(dhcp)) report.info(`DHCP: ${line}`);
  return { mode: 'dhcp', iface: lease.iface, ip: lease.ip, dhcp, lease };
}

/** Throws the abort's reason (an error naming why) once the bring-up has been called off. */
function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new SiError('E_NETWORK', 'network bring-up stopped');
}

async function waitForAnyCarrier(links: LinkInfo[], opts: ConfigureOptions): Promise<LinkInfo[]> {
  const until = Date.now() + (opts.carrierWaitMs ?? 10_000);
  for (;;) {
    const now = await listEthernetLinks(opts.sysClassNet);
    const up = links.filter((l) => now.find((n) => n.name === l.name)?.carrier === true);
    if (up.length > 0 || Date.now() >= until) return up;
    // Wait on the first link's carrier file for a short slice, then look at all again.
    await waitForCarrier(links[0]!.name, Math.min(500, until - Date.now()), { ...(opts.sysClassNet ? { sysClassNet: opts.sysClassNet } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  }
}

/**
 * ETHER_SLEEP: a countdown visible on the console, one line per second (every
 * 10 s past the first 10). There is no keypress to skip it: PID 1's console may
 * be a serial line with nobody on it, and reading it raw would fight the shell-out.
 */
async function etherSleep(seconds: number, report: Reporter, signal?: AbortSignal): Promise<void> {
  if (seconds <= 0) return;
  report.info(`ETHER_SLEEP=${seconds}: waiting ${seconds} s for the switch port before DHCP`);
  for (let left = seconds; left > 0; left--) {
    if (left <= 10 || left % 10 === 0) report.info(`DHCP starts in ${left} s`);
    await sleepAbortable(1000, signal);
  }
}

async function configureStatic(opts: ConfigureOptions, ip: string, iface: string): Promise<NetworkResult> {
  const { params, report } = opts;
  const mask = getString(params, 'NETMASK') || undefined;
  let prefix = mask ? maskToPrefix(mask) : undefined;
  if (mask && prefix === undefined) throw new SiError('E_PARAM', `NETMASK=${mask} is not a contiguous netmask`);
  if (prefix === undefined) {
    prefix = classfulPrefix(ip);
    report.warn(`NETMASK is not set: using the classful /${prefix} for ${ip}`);
  }
  const broadcast = getString(params, 'BROADCAST') || undefined;
  report.info(`static network: ${ip}/${prefix} on ${iface}`);
  const gw = getString(params, 'GATEWAY') || undefined;
  const gatewayDev = getString(params, 'GATEWAYDEV') || undefined;
  const r = await configureInterface(opts.run, { iface, ip, prefix, ...(broadcast ? { broadcast } : {}), ...(gw ? { gateway: gw } : {}), ...(gatewayDev ? { gatewayDev } : {}) });
  if (r.defaultRouteError) throw new SiError('E_NETWORK', `GATEWAY=${gw}: cannot set the default route via ${gw} on ${gatewayDev ?? iface}: ${r.defaultRouteError}`);
  if (r.subnetRouteError) report.warn(`the route to ${ip}/${prefix} on ${iface} keeps its delayed ACKs: ${r.subnetRouteError}`);
  // DNS_SERVERS (as `si-agent stage` or dracut's nameserver= writes it): the static network's name servers, for the install and the installed system.
  const dns = readDnsServers(params);
  if (dns.length > 0) await writeResolvConf(opts.resolvConfPath, dns, getString(params, 'DOMAINNAME') || undefined);
  return { mode: 'static', iface, ip, dhcp: [] };
}

async function applyLease(opts: ConfigureOptions, lease: Lease): Promise<void> {
  const gw = lease.routers[0];
  const r = await configureInterface(opts.run, { iface: lease.iface, ip: lease.ip, prefix: lease.prefix, ...(lease.broadcast ? { broadcast: lease.broadcast } : {}), ...(gw ? { gateway: gw } : {}) });
  // A router the kernel refuses (off the subnet) is the server's mistake: the image server may still be on-link.
  if (r.defaultRouteError) opts.report.warn(`DHCP router ${gw} not usable: ${r.defaultRouteError}`);
  if (r.subnetRouteError) opts.report.warn(`the route to ${lease.ip}/${lease.prefix} on ${lease.iface} keeps its delayed ACKs: ${r.subnetRouteError}`);
  // Name servers given beside DHCP (dracut's nameserver=) come after the lease's, as dracut lists them.
  const servers = leaseNameServers(lease.dns, opts.params);
  if (servers.length > 0) await writeResolvConf(opts.resolvConfPath, servers, lease.domain);
}
