// The network brought up while the local.cfg search still waits for the disk drivers (init): DHCP needs only the NICs.
//
// SPEC 1 reads the parameters (command line, local.cfg, command line) before the network step. In the initrd the
// local.cfg search must wait for every storage driver, and DHCP for none of them; so the bring-up starts from what is
// already known (the command line and the initrd's own /local.cfg) while the search runs. The network step then takes
// that result only when the parameters the bring-up read came out the same after the search; otherwise the early
// attempt is stopped, its address dropped, and the network is brought up again from the final parameters. A site
// whose local.cfg on a stick sets a static address sees at most a DHCP exchange that is then dropped.

import { configureNetwork, type NetworkResult } from '../net/configure.js';
import { flushAddresses, listEthernetLinks } from '../net/links.js';
import { waitForBootStage } from '../init/boot-stages.js';
import { systemPaths } from '../exec/tools.js';
import type { Params } from '../params/types.js';
import type { Reporter } from '../report/events.js';
import type { Ctx } from './context.js';
import { isMacAddress, resolveDeviceByMac } from './device-by-mac.js';
import { NET_PARAMS } from '../params/net-names.js';

/** Every parameter configureNetwork reads: equal values give an equal bring-up. */
export const NETWORK_PARAMS: readonly string[] = ['DEVICE', 'IPADDR', 'NETMASK', 'BROADCAST', 'GATEWAY', 'GATEWAYDEV', 'DNS_SERVERS', 'DOMAINNAME', 'ETHER_SLEEP', 'HOSTNAME', 'IPV4_ASSIGNMENT', 'IPV6_ASSIGNMENT', 'IPV6ADDR', 'IPV6_GATEWAY'];

/** The names of the network parameters whose values differ. */
export function changedNetworkParams(a: Params, b: Params): string[] {
  // The link stack's parameters (bond, VLAN, MTU, renames) count too.
  return [...NETWORK_PARAMS, ...NET_PARAMS.map((p) => p.name)].filter((k) => (a.get(k)?.value ?? '') !== (b.get(k)?.value ?? ''));
}

/**
 * In the initrd, waits until the NICs are there: PID 1's "network" stage (the PCI NICs' drivers), then all modules
 * when no Ethernet link (or not the one DEVICE names, by name or MAC) has come with it: a NIC on USB, say.
 */
export async function waitForNics(report: Reporter, device: string | undefined, signal?: AbortSignal, sysClassNet?: string): Promise<void> {
  await waitForBootStage('network', report, undefined, undefined, signal);
  const links = await listEthernetLinks(sysClassNet).catch(() => []);
  const found = !device ? links.length > 0 : isMacAddress(device) ? typeof resolveDeviceByMac(device, sysClassNet) === 'string' : links.some((l) => l.name === device);
  if (!found) await waitForBootStage('modules', report, undefined, undefined, signal);
}

export interface EarlyNetwork {
  /** The parameters the bring-up read. */
  params: Params;
  result: Promise<NetworkResult>;
  abort: AbortController;
}

/** Starts the bring-up from these parameters (DEVICE given by MAC resolved once the NICs are there). */
export function startEarlyNetwork(ctx: Ctx, params: Params): EarlyNetwork {
  const abort = new AbortController();
  const onFlowAbort = () => abort.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onFlowAbort, { once: true });
  const result = (async () => {
    try {
      await waitForNics(ctx.report, params.get('DEVICE')?.value || undefined, abort.signal);
      const p = new Map(params);
      const dev = p.get('DEVICE');
      const byMac = dev ? resolveDeviceByMac(dev.value) : undefined;
      if (dev && byMac) p.set('DEVICE', { value: byMac, source: dev.source });
      return await configureNetwork({ params: p, run: ctx.run, report: ctx.report, signal: abort.signal, resolvConfPath: systemPaths().resolvConf });
    } finally {
      ctx.signal.removeEventListener('abort', onFlowAbort);
    }
  })();
  result.catch(() => undefined); // awaited (or dropped) by the network step
  return { params, result, abort };
}

/**
 * The early bring-up's result when the final parameters read the same; else it is stopped, what it set is dropped,
 * and undefined says to bring the network up again.
 */
export async function takeEarlyNetwork(ctx: Ctx, early: EarlyNetwork): Promise<NetworkResult | undefined> {
  const changed = changedNetworkParams(early.params, ctx.params);
  if (changed.length === 0) return await early.result;
  ctx.report.info(`local.cfg changed ${changed.join(', ')}: the network brought up before it was read is brought up again`);
  early.abort.abort(new Error('the network parameters changed'));
  const r = await early.result.catch(() => undefined);
  if (r) await flushAddresses(ctx.run, r.iface).catch((err: Error) => ctx.report.warn(`cannot drop the address ${r.ip} from ${r.iface}: ${err.message}`));
  return undefined;
}
