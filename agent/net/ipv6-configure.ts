// The installer's IPv6 on one link (IPV6_ASSIGNMENT): SLAAC from router advertisements, DHCPv6, or a static address.

import { SiError } from '../errors.js';
import { ipCommand } from '../exec/tools.js';
import type { Runner } from '../exec/runner.js';
import type { Reporter } from '../report/events.js';
import type { Params } from '../params/types.js';
import { getString } from '../params/validate.js';
import { runDhcp6, type Dhcp6Lease, type Dhcp6RunOptions } from './dhcp6-client.js';
import { defaultGateway, readIPv6Addresses, readIPv6Routes, readIPv6Sysctl, writeIPv6Sysctl, type Inet6Address, type ProcPaths } from './ipv6-proc.js';
import { checkIPv6, normalizeIPv6, parseIPv6Prefix } from './ipv6-values.js';
import { raDns } from './ra-dns.js';
import { sleepAbortable } from './retry.js';

export type Ipv6Mode = 'auto' | 'dhcp6' | 'static';

export interface Ipv6Options extends ProcPaths {
  params: Params;
  run: Runner;
  report: Reporter;
  iface: string;
  mac: Buffer;
  signal?: AbortSignal;
  /** Deadline for an address (SLAAC or DHCPv6; default 60 s). */
  timeoutMs?: number;
  /** How long to wait for a default route from router advertisements once there is an address (default 10 s). */
  routeWaitMs?: number;
  dhcp6?: Partial<Pick<Dhcp6RunOptions, 'rapidCommit' | 'timeScale' | 'clientPort' | 'serverPort' | 'random' | 'onLease'>>;
}

export interface Ipv6Result {
  mode: Ipv6Mode;
  iface: string;
  address: string;
  prefix: number;
  gateway?: string;
  dns: string[];
  domains: string[];
  lease?: Dhcp6Lease;
}

/** Brings IPv6 up on iface per IPV6_ASSIGNMENT; an error names the mode, the link and what did not come. */
export async function configureIPv6(opts: Ipv6Options, mode: Ipv6Mode): Promise<Ipv6Result> {
  const { iface, report } = opts;
  if ((await readIPv6Sysctl(iface, 'disable_ipv6', opts)) === undefined) throw new SiError('E_NETWORK', `IPV6_ASSIGNMENT=${mode}: ${iface} has no IPv6 (kernel without IPv6?)`);
  const ra = mode === 'static' ? '0' : '2'; // 2: accept router advertisements even were forwarding on
  const settings: Array<[string, string]> = [['accept_ra', ra], ['autoconf', mode === 'auto' ? '1' : '0'], ['accept_dad', '1'], ['disable_ipv6', '0']];
  let changed = false;
  for (const [k, v] of settings) {
    if ((await readIPv6Sysctl(iface, k, opts)) === v) continue;
    await writeIPv6Sysctl(iface, k, v, opts);
    report.info(`IPv6 on ${iface}: net.ipv6.conf.${iface}.${k}=${v}`);
    changed = true;
  }
  // The kernel solicits routers when IPv6 starts on a link; settings changed after that need a restart to ask again.
  if (changed && mode !== 'static') {
    await writeIPv6Sysctl(iface, 'disable_ipv6', '1', opts);
    await writeIPv6Sysctl(iface, 'disable_ipv6', '0', opts);
  }
  const timeoutMs = opts.timeoutMs ?? 60_000;
  if (mode === 'static') return await configureStaticIPv6(opts);
  const linkLocal = await waitForAddress(opts, (a) => a.scope === 'link', 10_000, 'a link-local address (DAD)');
  if (!linkLocal) throw new SiError('E_TIMEOUT', `IPv6 on ${iface}: no usable link-local address after 10 s (DAD not finished)`);
  report.info(`IPv6 on ${iface}: link-local ${linkLocal.address} ready`);
  if (mode === 'auto') {
    const a = await waitForAddress(opts, (x) => x.scope === 'global' && !x.deprecated, timeoutMs, 'an address from router advertisements');
    if (!a) throw new SiError('E_TIMEOUT', `IPV6_ASSIGNMENT=auto: no global address on ${iface} from router advertisements after ${(timeoutMs / 1000).toFixed(0)} s (does a router advertise a prefix with the autonomous flag?)`);
    const gateway = await waitForGateway(opts);
    report.info(`IPv6 on ${iface}: ${a.address}/${a.prefix} by SLAAC${gateway ? `, default route via ${gateway}` : ''}`);
    // No DHCPv6 here: the name servers and search domains are the advertisement's own (RDNSS, DNSSL).
    const ra = await raDns(iface, opts.run, report);
    return { mode, iface, address: a.address, prefix: a.prefix, ...(gateway ? { gateway } : {}), dns: ra.dns, domains: ra.domains };
  }
  const lease = await runDhcp6({ report, iface, mac: opts.mac, linkLocal: linkLocal.address, timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}), ...opts.dhcp6 });
  for (const p of lease.problems) report.warn(`DHCPv6 on ${iface}: ${p}`);
  // A DHCPv6 address is a /128 (RFC 8415): the on-link prefix and the default route come from router advertisements.
  await opts.run(...ipCommand(['-6', 'addr', 'replace', `${lease.address}/128`, 'dev', iface]), { timeout: 10_000 });
  await waitForDad(opts, lease.address, `the DHCPv6 address from ${lease.server}`);
  const gateway = await waitForGateway(opts);
  report.info(`IPv6 on ${iface}: ${lease.address}/128 by DHCPv6 from ${lease.server}${gateway ? `, default route via ${gateway}` : ''}`);
  return { mode, iface, address: lease.address, prefix: 128, ...(gateway ? { gateway } : {}), dns: lease.dns, domains: lease.domains, lease };
}

async function configureStaticIPv6(opts: Ipv6Options): Promise<Ipv6Result> {
  const { iface, params, report } = opts;
  const value = getString(params, 'IPV6ADDR');
  const source = params.get('IPV6ADDR')?.source ?? 'parameters';
  if (!value) throw new SiError('E_PARAM', 'IPV6_ASSIGNMENT=static needs IPV6ADDR (address/prefix, e.g. fd42:77::10/64)');
  const addr = parseIPv6Prefix(value);
  if (!addr) throw new SiError('E_PARAM', `${source} IPV6ADDR: ${JSON.stringify(value)} ${checkIPv6(value, true) ?? 'is not an IPv6 address/prefix'}`);
  await opts.run(...ipCommand(['-6', 'addr', 'replace', `${addr.address}/${addr.prefix}`, 'dev', iface]), { timeout: 10_000 });
  await waitForDad(opts, addr.address, `IPV6ADDR=${value} (${source})`);
  const gw = getString(params, 'IPV6_GATEWAY') || undefined;
  if (gw) {
    const r = await opts.run(...ipCommand(['-6', 'route', 'replace', 'default', 'via', gw, 'dev', iface]), { timeout: 10_000, allowFail: true });
    if (r.code !== 0) throw new SiError('E_NETWORK', `IPV6_GATEWAY=${gw} (${params.get('IPV6_GATEWAY')?.source ?? 'parameters'}): cannot set the default route on ${iface}: ${r.stderr.trim()}`);
  }
  report.info(`IPv6 on ${iface}: static ${addr.address}/${addr.prefix}${gw ? `, default route via ${gw}` : ''}`);
  return { mode: 'static', iface, address: normalizeIPv6(addr.address), prefix: addr.prefix, ...(gw ? { gateway: gw } : {}), dns: [], domains: [] };
}

/** Waits for a non-tentative address matching `want`; a failed DAD on one is an error naming it. */
async function waitForAddress(opts: Ipv6Options, want: (a: Inet6Address) => boolean, ms: number, what: string): Promise<Inet6Address | undefined> {
  const until = Date.now() + ms;
  for (;;) {
    const all = (await readIPv6Addresses(opts.iface, opts)).filter(want);
    const failed = all.find((a) => a.dadFailed);
    if (failed) throw new SiError('E_NETWORK', `IPv6 on ${opts.iface}: ${failed.address} is in use by another host on the link (duplicate address detection failed) while waiting for ${what}`);
    const ready = all.find((a) => !a.tentative);
    if (ready || Date.now() >= until) return ready;
    await sleepAbortable(100, opts.signal);
  }
}

async function waitForDad(opts: Ipv6Options, address: string, what: string): Promise<void> {
  const want = normalizeIPv6(address);
  const a = await waitForAddress(opts, (x) => x.address === want, 10_000, what);
  if (!a) throw new SiError('E_TIMEOUT', `IPv6 on ${opts.iface}: ${what} still tentative after 10 s (duplicate address detection)`);
}

/** The default route from router advertisements, waited for a bounded time; a warning when none came. */
async function waitForGateway(opts: Ipv6Options): Promise<string | undefined> {
  const until = Date.now() + (opts.routeWaitMs ?? 10_000);
  for (;;) {
    const gw = defaultGateway(await readIPv6Routes(opts.iface, opts));
    if (gw) return gw;
    if (Date.now() >= until) break;
    await sleepAbortable(100, opts.signal);
  }
  opts.report.warn(`IPv6 on ${opts.iface}: no default route from router advertisements; only hosts on the link are reachable over IPv6`);
  return undefined;
}
