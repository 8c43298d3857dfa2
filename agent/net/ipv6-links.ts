// IPv6 only with no DEVICE: SLAAC or DHCPv6 on every link with carrier at once; the first link up wins, the others
// are given back (DHCPv6 RELEASE, addresses and router-advertisement state removed), as DHCPv4 does on many links.

import { SiError } from '../errors.js';
import { ipCommand } from '../exec/tools.js';
import type { ConfigureOptions, NetworkResult } from './network-types.js';
import type { Dhcp6Lease } from './dhcp6-client.js';
import { releaseDhcp6 } from './dhcp6-release.js';
import { configureIPv6, type Ipv6Mode, type Ipv6Result } from './ipv6-configure.js';
import { ipv6Only } from './ipv6-network.js';
import { readIPv6Addresses, writeIPv6Sysctl } from './ipv6-proc.js';
import type { LinkInfo } from './links.js';

/** Brings IPv6 up on the first of `links` to get an address (static, or a single link: that link alone). */
export async function ipv6OnLinks(opts: ConfigureOptions, mode: Ipv6Mode, links: LinkInfo[]): Promise<NetworkResult> {
  if (mode === 'static' || links.length < 2) return await ipv6Only(opts, mode, links[0]!);
  const { report } = opts;
  const names = links.map((l) => l.name).join(', ');
  report.info(`IPv6 only (IPV4_ASSIGNMENT=off): ${mode} on ${names} at once; the first link with an address wins`);
  const stops = links.map(() => new AbortController());
  const onOuterAbort = () => stops.forEach((s) => s.abort(opts.signal?.reason));
  if (opts.signal?.aborted) onOuterAbort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const leases = new Map<string, Dhcp6Lease>();
  const started = Date.now();
  const runs = links.map((l, i) =>
    configureIPv6(
      {
        params: opts.params,
        run: opts.run,
        report,
        iface: l.name,
        mac: l.mac,
        signal: stops[i]!.signal,
        ...(opts.ipv6?.timeoutMs ? { timeoutMs: opts.ipv6.timeoutMs } : {}),
        ...(opts.ipv6?.routeWaitMs !== undefined ? { routeWaitMs: opts.ipv6.routeWaitMs } : {}),
        dhcp6: { ...opts.ipv6?.dhcp6, onLease: (lease) => leases.set(l.name, lease) },
      },
      mode,
    ),
  );
  let winner: Ipv6Result;
  try {
    winner = await Promise.any(runs);
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new SiError('E_NETWORK', 'IPv6 bring-up stopped');
    const errors = err instanceof AggregateError ? err.errors : [err];
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    throw new SiError('E_TIMEOUT', `no IPv6 address (${mode}) on any of ${names} after ${secs} s`, { details: errors.map((e) => (e instanceof Error ? e.message : String(e))) });
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
  links.forEach((l, i) => l.name !== winner.iface && stops[i]!.abort(new SiError('E_NETWORK', `IPv6 on ${l.name}: stopped, ${winner.iface} was first`)));
  await Promise.allSettled(runs);
  report.info(`IPv6: using ${winner.iface} (${winner.address}), the first link ${mode === 'auto' ? 'with an address from router advertisements' : 'with a DHCPv6 lease'}`);
  for (const l of links) if (l.name !== winner.iface) await giveBack(opts, l, leases.get(l.name));
  return await ipv6Only(opts, mode, links.find((l) => l.name === winner.iface)!, winner);
}

/** A losing link: its DHCPv6 lease released, router advertisements and autoconf off, its global addresses and RA routes gone. */
async function giveBack(opts: ConfigureOptions, link: LinkInfo, lease: Dhcp6Lease | undefined): Promise<void> {
  if (lease) {
    const linkLocal = (await readIPv6Addresses(link.name).catch(() => [])).find((a) => a.scope === 'link' && !a.tentative)?.address;
    if (linkLocal) {
      await releaseDhcp6({
        report: opts.report,
        mac: link.mac,
        linkLocal,
        lease,
      });
    }
  }
  for (const key of ['accept_ra', 'autoconf']) await writeIPv6Sysctl(link.name, key, '0').catch(() => undefined);
  const quiet = { timeout: 10_000, allowFail: true };
  await opts.run(...ipCommand(['-6', 'addr', 'flush', 'dev', link.name, 'scope', 'global']), quiet);
  await opts.run(...ipCommand(['-6', 'route', 'flush', 'dev', link.name, 'proto', 'ra']), quiet);
}
