// The installed system's links, bottom to top (NICs, bond, VLAN), and what each style's renderer shares about them.

import { isIPv6 } from 'node:net';
import type { FileChange } from './file-changes.js';
import type { BondSettings, NetSettings, VlanSettings } from './net-settings.js';

/** The links the renderers write: the NICs (the bond's slaves, or the one install NIC), the bond, the VLAN, and the top. */
export interface LinkLayout {
  nics: string[];
  bond?: BondSettings;
  vlan?: VlanSettings;
  /** The link that carries the addresses: the VLAN, else the bond, else the NIC. */
  top: string;
  mtu?: number;
}

/** The layout for the settings; nic is the install NIC's installed name (used when there is no bond). Undefined: no NIC known. */
export function layoutLinks(s: NetSettings, nic: string | undefined): LinkLayout | undefined {
  const base = s.vlan && s.vlan.parent !== s.bond?.name ? s.vlan.parent : (nic ?? s.nic);
  const nics = s.bond ? s.bond.slaves : base ? [base] : [];
  if (nics.length === 0) return undefined;
  const top = s.vlan?.name ?? s.bond?.name ?? nics[0]!;
  return { nics, ...(s.bond ? { bond: s.bond } : {}), ...(s.vlan ? { vlan: s.vlan } : {}), top, ...(s.mtu !== undefined ? { mtu: s.mtu } : {}) };
}

/** The name servers split by family (a keyfile's [ipv4] takes IPv4 servers only). */
export function splitDns(dns: readonly string[]): { v4: string[]; v6: string[] } {
  return { v4: dns.filter((d) => !isIPv6(d)), v6: dns.filter((d) => isIPv6(d)) };
}

/** The bonding options a style can carry (its name for each kernel option), and those it cannot. */
export function mapBondOptions(opts: readonly [string, string][], names: Readonly<Record<string, string>>): { mapped: [string, string][]; dropped: string[] } {
  const mapped: [string, string][] = [];
  const dropped: string[] = [];
  for (const [k, v] of opts) {
    if (names[k] !== undefined) mapped.push([names[k]!, v]);
    else dropped.push(`${k}=${v}`);
  }
  return { mapped, dropped };
}

/** A note naming bonding options a style has no setting for. */
export function droppedNote(style: string, dropped: readonly string[]): string[] {
  return dropped.length === 0 ? [] : [`${style} has no setting for the bonding option(s) ${dropped.join(', ')}: left out of the installed system's configuration`];
}

/** The planned changes of one style, with notes for the operator. */
export interface StyleChanges {
  changes: FileChange[];
  notes: string[];
}
