// The installer's link stack with `ip`: NICs renamed (IFNAMES), a bond over its slaves, a tagged VLAN, the MTU.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SiError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import { readSysfs } from '../exec/tools.js';
import type { Reporter } from '../report/events.js';
import type { Params } from '../params/types.js';
import { isMac } from '../params/net-values.js';
import { readNetStack, type NetStack } from '../params/net-stack.js';
import { parseMac } from './dhcp-packet.js';
import { listEthernetLinks, waitForCarrier, type LinkInfo } from './links.js';
import { reportLacp } from './bond-status.js';

/** The links present now: name -> MAC (lower case). */
export type LinkTable = ReadonlyMap<string, string>;

/**
 * The `ip` argv lists that build the stack over the links present, in order (pure). A link already there (a retried
 * bring-up) is not made again. Slaves go down before they are enslaved (the kernel refuses an up slave), then come
 * up under the master; the MTU is set on the bond (it passes it to its slaves) or on the VLAN's parent first, since a
 * VLAN's MTU cannot exceed its parent's.
 */
export function linkStackCommands(stack: NetStack, present: LinkTable): string[][] {
  const cmds: string[][] = [];
  const names = new Map(present);
  const byMac = (x: string): string => {
    if (!isMac(x)) return x;
    const hit = [...names].find(([, mac]) => mac === x.toLowerCase());
    if (!hit) throw new SiError('E_NETWORK', `no network link has the MAC address ${x} (links: ${[...present.keys()].join(', ') || 'none'})`);
    return hit[0];
  };
  for (const r of stack.renames) {
    const cur = byMac(r.mac);
    if (cur === r.name) continue;
    cmds.push(['link', 'set', 'dev', cur, 'down'], ['link', 'set', 'dev', cur, 'name', r.name]);
    names.delete(cur);
    names.set(r.name, r.mac);
  }
  const mtu = stack.mtu !== undefined ? ['mtu', String(stack.mtu)] : [];
  if (stack.bond) {
    const b = stack.bond;
    const slaves = b.slaves.map(byMac);
    if (!names.has(b.name)) cmds.push(['link', 'add', 'name', b.name, 'type', 'bond', ...b.opts.flat()]);
    for (const s of slaves) cmds.push(['link', 'set', 'dev', s, 'down'], ['link', 'set', 'dev', s, 'master', b.name]);
    cmds.push(['link', 'set', 'dev', b.name, ...mtu, 'up']);
    for (const s of slaves) cmds.push(['link', 'set', 'dev', s, 'up']);
  }
  if (stack.vlan) {
    const v = stack.vlan;
    const parent = byMac(v.parent);
    if (parent !== stack.bond?.name) cmds.push(['link', 'set', 'dev', parent, ...mtu, 'up']);
    if (!names.has(v.name)) cmds.push(['link', 'add', 'link', parent, 'name', v.name, 'type', 'vlan', 'id', String(v.id)]);
    cmds.push(['link', 'set', 'dev', v.name, ...mtu, 'up']);
  }
  return cmds;
}

/**
 * The links in sysClassNet with their MACs: a bond slave's own (perm_hwaddr: the bond gives its slaves its MAC), and
 * the NICs before the bonds, VLANs and bridges that share their MACs, so that a lookup by MAC finds the NIC.
 */
export function readLinkTable(sysClassNet = '/sys/class/net'): Map<string, string> {
  const nics: Array<[string, string]> = [];
  const virtual: Array<[string, string]> = [];
  const read = (...p: string[]) => readSysfs(join(sysClassNet, ...p));
  for (const n of readdirSync(sysClassNet)) {
    const mac = read(n, 'bonding_slave', 'perm_hwaddr') ?? read(n, 'address');
    if (mac === undefined) continue; // no address: not a link to build on
    (/^DEVTYPE=(bond|vlan|bridge)$/m.test(read(n, 'uevent') ?? '') ? virtual : nics).push([n, mac.toLowerCase()]);
  }
  return new Map([...nics, ...virtual]);
}

export interface LinkStackOptions {
  params: Params;
  run: Runner;
  report: Reporter;
  sysClassNet?: string;
  signal?: AbortSignal;
  carrierWaitMs?: number;
  /** Where the kernel tells a bond's state (/proc/net/bonding). */
  procNetBonding?: string;
}

/**
 * Builds the stack the parameters ask for. Returns the top link (the VLAN or the bond) that DHCP or the static address
 * goes on, undefined when there is none (no stack, or only renames and an MTU: then each link is used as before).
 */
export async function setUpLinkStack(opts: LinkStackOptions): Promise<LinkInfo | undefined> {
  const { stack } = readNetStack(opts.params);
  if (!stack) return undefined;
  const sys = opts.sysClassNet ?? '/sys/class/net';
  // Loaded by name: the kernel's own request for rtnl-link-bond may find no modprobe in its path. max_bonds=0: by
  // default the module makes a bond0 of its own (balance-rr); the stack would then find bond0 there and never give it
  // its mode and options.
  for (const [want, mod] of [[stack.bond, ['bonding', 'max_bonds=0']], [stack.vlan, ['8021q']]] as const) {
    if (want) await opts.run('modprobe', [...mod], { timeout: 30_000, allowFail: true });
  }
  const cmds = linkStackCommands(stack, readLinkTable(sys));
  if (!stack.top && stack.mtu !== undefined) {
    const device = opts.params.get('DEVICE')?.value;
    for (const l of device ? [device] : (await listEthernetLinks(sys)).map((x) => x.name)) cmds.push(['link', 'set', 'dev', l, 'mtu', String(stack.mtu)]);
  }
  for (const args of cmds) {
    const r = await opts.run('ip', args, { timeout: 10_000, allowFail: true });
    if (r.code !== 0) throw new SiError('E_NETWORK', `cannot set up ${stack.top ?? 'the links'}: ip ${args.join(' ')}: ${r.stderr.trim() || `exit code ${String(r.code)}`}`);
  }
  if (!stack.top) return undefined;
  opts.report.info(`links: ${describeStack(stack)}`);
  const carrier = await waitForCarrier(stack.top, opts.carrierWaitMs ?? 10_000, { sysClassNet: sys, ...(opts.signal ? { signal: opts.signal } : {}) });
  if (!carrier) opts.report.warn(`no carrier on ${stack.top} yet`);
  // An 802.3ad bond: which partner it aggregated with, or that the switch speaks no LACP.
  if (stack.bond) await reportLacp(stack.bond.name, opts.report, { ...(opts.procNetBonding ? { procNetBonding: opts.procNetBonding } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  const mac = parseMac(readLinkTable(sys).get(stack.top) ?? '') ?? Buffer.alloc(6);
  return { name: stack.top, mac, carrier, operstate: carrier ? 'up' : 'down' };
}

/** One line for the log: `bond0.42 (VLAN 42 on bond0 (802.3ad over eth0, eth1)), MTU 9000`. */
export function describeStack(stack: NetStack): string {
  const bond = stack.bond ? `${stack.bond.name} (${stack.bond.opts.find(([k]) => k === 'mode')?.[1] ?? 'balance-rr'} over ${stack.bond.slaves.join(', ')})` : undefined;
  const vlan = stack.vlan ? `${stack.vlan.name} (VLAN ${stack.vlan.id} on ${stack.vlan.parent === stack.bond?.name ? bond : stack.vlan.parent})` : bond;
  return `${vlan}${stack.mtu !== undefined ? `, MTU ${stack.mtu}` : ''}`;
}
