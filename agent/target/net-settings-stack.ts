// The installed system's bond, VLAN, MTU and IPv6 from the parameters, NICs named as the installed system will name them.

import type { Problem } from '../errors.js';
import { parseIPv6Prefix } from '../net/ipv6-values.js';
import { readNetStack } from '../params/net-stack.js';
import { isLinkName, isMac } from '../params/net-values.js';
import type { Params } from '../params/types.js';
import { checkValue, getEnum } from '../params/validate.js';
import type { LinkNamer } from './link-namer.js';

export type Ipv6Assignment = 'auto' | 'dhcp6' | 'static' | 'off';

export interface BondSettings {
  name: string;
  /** The slaves' names in the installed system. */
  slaves: string[];
  mode: string;
  /** The other bonding options as kernel sysfs names and words (miimon 100, lacp_rate fast), in the order given. */
  options: [string, string][];
}

export interface VlanSettings {
  id: number;
  /** The bond's name, or the parent NIC's name in the installed system. */
  parent: string;
  name: string;
}

export interface Ipv6Settings {
  assignment: Ipv6Assignment;
  /** IPV6_ASSIGNMENT=off was given (not merely left unset): the install link's IPv6 autoconfiguration is turned off. */
  disable?: boolean;
  address?: string;
  prefix?: number;
  gateway?: string;
}

/** A NIC renamed between the installer and the installed system, for the log. */
export interface Renamed {
  from: string;
  to: string;
  why: string;
}

export interface StackSettings {
  bond?: BondSettings;
  vlan?: VlanSettings;
  mtu?: number;
  /** The install NIC in the installed system when it is neither a bond nor a VLAN (the VLAN's parent NIC, or DEVICE). */
  nic?: string;
  /** DEVICE as the installer's kernel name (a MAC resolved). */
  device?: string;
  renamed: Renamed[];
  /** IFNAMES: the names the install gave NICs by MAC, which the installed system gives them too. */
  ifnames: { name: string; mac: string }[];
}

const STACK_KEYS = ['MTU', 'VLAN_ID', 'VLAN_PARENT', 'VLAN_NAME', 'BOND_NAME', 'BOND_SLAVES', 'BOND_OPTS', 'IFNAMES', 'DEVICE'];
const V6_KEYS = ['IPV4_ASSIGNMENT', 'IPV6_ASSIGNMENT', 'IPV6ADDR', 'IPV6_GATEWAY'];

/** Problems with the kinds of the stack and IPv6 parameters, each naming its source and value. */
export function checkStackKinds(params: Params): Problem[] {
  const out: Problem[] = [];
  for (const key of [...STACK_KEYS.filter((k) => k !== 'DEVICE'), ...V6_KEYS]) {
    const t = params.get(key);
    const why = t && t.value !== '' ? checkValue(key, t.value) : undefined;
    if (why) out.push({ source: t!.source, key, message: `${JSON.stringify(t!.value)} ${why}` });
  }
  return out;
}

/**
 * The link stack in the installed system's names. Slaves and a VLAN's parent NIC (names or MACs in the installer) go
 * through the namer; a VLAN named after its parent NIC (eth1.42) takes the parent's new name (enp2s0.42).
 */
export function readTargetStack(params: Params, baseNamer: LinkNamer, problems: Problem[]): StackSettings {
  const out: StackSettings = { renamed: [], ifnames: [] };
  const bad = (key: string, message: string) => problems.push({ source: params.get(key)?.source ?? 'default', key, message });
  const { stack, problems: stackProblems } = readNetStack(params);
  problems.push(...stackProblems);
  if (stack) out.ifnames = stack.renames;
  const namer = ifnamesFirst(baseNamer, out.ifnames);
  const rename = (key: string, link: string): string | undefined => {
    const n = namer(link);
    if (!n) {
      bad(key, `no network link has the MAC address ${link}`);
      return undefined;
    }
    if (!out.renamed.some((r) => r.from === n.kernel)) out.renamed.push({ from: n.kernel, to: n.name, why: n.why });
    return n.name;
  };
  const device = params.get('DEVICE')?.value || undefined;
  if (device !== undefined && !isLinkName(device) && !isMac(device)) bad('DEVICE', `${JSON.stringify(device)} is not an interface name`);
  else if (device !== undefined) {
    const virtual = stack && [stack.top, stack.bond?.name, stack.vlan?.name].includes(device);
    if (!virtual && !(stack?.vlan && stack.vlan.parent === device)) {
      out.device = namer(device)?.kernel ?? device;
      if (!stack?.bond && !stack?.vlan) {
        const nic = rename('DEVICE', device);
        if (nic) out.nic = nic;
      }
    } else out.device = device;
  }
  if (!stack) return out;
  if (stack.mtu !== undefined) out.mtu = stack.mtu;
  if (stack.bond) {
    const slaves = stack.bond.slaves.map((s) => rename('BOND_SLAVES', s));
    const mode = stack.bond.opts.find(([k]) => k === 'mode')?.[1] ?? 'balance-rr';
    // primary names a slave: as the installed system names it.
    const options = stack.bond.opts.filter(([k]) => k !== 'mode').map(([k, v]): [string, string] => [k, k === 'primary' ? (rename('BOND_OPTS', v) ?? v) : v]);
    if (slaves.every((s): s is string => s !== undefined)) out.bond = { name: stack.bond.name, slaves, mode, options };
  }
  if (stack.vlan) {
    const v = stack.vlan;
    const onBond = v.parent === stack.bond?.name;
    const parent = onBond ? v.parent : rename('VLAN_PARENT', v.parent);
    if (parent !== undefined) {
      // <parent>.<id> only describes the parent: it follows the parent's new name (another name is the operator's).
      const parentName = v.name === `${v.parent}.${v.id}`;
      const name = !onBond && parentName ? (`${parent}.${v.id}`.length <= 15 ? `${parent}.${v.id}` : `vlan${v.id}`) : v.name;
      out.vlan = { id: v.id, parent, name };
      if (!onBond) out.nic = parent;
    }
  }
  return out;
}

/**
 * A namer under which IFNAMES wins: a NIC the install named by MAC (given by that name or that MAC, or whose kernel
 * name the base namer reports as that name) keeps the name in the installed system, whatever udev would choose.
 */
export function ifnamesFirst(namer: LinkNamer, ifnames: readonly { name: string; mac: string }[]): LinkNamer {
  if (ifnames.length === 0) return namer;
  return (link) => {
    const base = namer(link);
    // A name first: bond slaves share one MAC in the installer, so a match by MAC is the last resort.
    const hit =
      ifnames.find((r) => r.name === link || r.name === base?.kernel) ?? ifnames.find((r) => r.mac === link.toLowerCase() || r.mac === base?.mac);
    if (!hit) return base;
    return { kernel: base?.kernel ?? hit.name, name: hit.name, why: `IFNAMES ${hit.name}=${hit.mac}`, mac: hit.mac };
  };
}

/** IPV6_ASSIGNMENT with its address and gateway for the installed system; static needs IPV6ADDR. */
export function readTargetIpv6(params: Params, problems: Problem[]): Ipv6Settings {
  const assignment = (getEnum(params, 'IPV6_ASSIGNMENT') ?? 'off') as Ipv6Assignment;
  // off by default (the installer's) leaves the image's IPv6 as it was; off given by the operator turns it off.
  const t = params.get('IPV6_ASSIGNMENT');
  if (assignment === 'off') return t && t.source !== 'default' && t.value !== '' ? { assignment, disable: true } : { assignment };
  if (assignment !== 'static') return { assignment };
  const out: Ipv6Settings = { assignment };
  const addr = params.get('IPV6ADDR');
  const parsed = addr && addr.value !== '' ? parseIPv6Prefix(addr.value) : undefined;
  if (!addr || addr.value === '') problems.push({ source: params.get('IPV6_ASSIGNMENT')?.source ?? 'default', key: 'IPV6ADDR', message: 'is needed for IPV6_ASSIGNMENT=static (address/prefix, e.g. fd42:77::10/64)' });
  else if (parsed) {
    out.address = parsed.address;
    out.prefix = parsed.prefix;
  }
  const gw = params.get('IPV6_GATEWAY')?.value;
  if (gw) out.gateway = gw;
  return out;
}
