// Checks and reads the values of the data-centre network parameters: link names, MACs, MTU, VLAN id, bonding options.

import { isIPv4 } from 'node:net';
import { checkIPv6 } from '../net/ipv6-values.js';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** A kernel link name ip(8) takes as one argument: 1-15 characters, no '/', ':' or blanks, not starting with '-'. */
export function isLinkName(value: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/.test(value);
}

/** Six colon-separated hex bytes. */
export function isMac(value: string): boolean {
  return MAC.test(value);
}

/** The VLAN id (and parent) a VLAN interface name carries, as dracut reads it: vlan0042, vlan42, eth0.0042, eth0.42. */
export function vlanNameParts(name: string): { id: number; parent?: string } | undefined {
  const m = /^vlan(\d{1,4})$/.exec(name) ?? /^(.+)\.(\d{1,4})$/.exec(name);
  if (!m) return undefined;
  return m.length === 2 ? { id: Number(m[1]) } : { id: Number(m[2]), parent: m[1]! };
}

/** A decimal number in [min, max], or undefined. */
export function numberIn(value: string, min: number, max: number): number | undefined {
  if (!/^\d{1,6}$/.test(value.trim())) return undefined;
  const v = Number(value.trim());
  return v >= min && v <= max ? v : undefined;
}

/** Bonding modes in kernel order, so that `mode=4` is 802.3ad. */
export const BOND_MODES = ['balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb'] as const;

/** Bonding options with a fixed set of words (index = the kernel's number for it). */
const WORD_OPTS: Record<string, readonly string[]> = {
  mode: BOND_MODES,
  lacp_rate: ['slow', 'fast'],
  xmit_hash_policy: ['layer2', 'layer3+4', 'layer2+3', 'encap2+3', 'encap3+4', 'vlan+srcmac'],
  primary_reselect: ['always', 'better', 'failure'],
  fail_over_mac: ['none', 'active', 'follow'],
  arp_validate: ['none', 'active', 'backup', 'all', 'filter', 'filter_active', 'filter_backup'],
  arp_all_targets: ['any', 'all'],
  ad_select: ['stable', 'bandwidth', 'count'],
};
const NUMBER_OPTS = new Set(['miimon', 'updelay', 'downdelay', 'arp_interval', 'resend_igmp', 'num_grat_arp', 'num_unsol_na', 'min_links', 'lp_interval', 'packets_per_slave', 'ad_actor_sys_prio', 'ad_user_port_key', 'peer_notif_delay']);
const FLAG_OPTS = new Set(['use_carrier', 'all_slaves_active', 'tlb_dynamic_lb']);

/** Bonding options as ip-link words: `mode=4` -> ['mode', '802.3ad']; or the first reason they are not acceptable. */
export function parseBondOpts(value: string): { opts: [string, string][] } | { error: string } {
  const opts: [string, string][] = [];
  for (const item of value.trim().split(/[\s,]+/).filter((x) => x !== '')) {
    const m = /^([a-z_0-9]+)=(.+)$/.exec(item);
    if (!m) return { error: `"${item}" is not key=value` };
    const [, key, v] = m as unknown as [string, string, string];
    const words = WORD_OPTS[key];
    let word: string | undefined;
    if (words) {
      const n = numberIn(v, 0, words.length - 1);
      word = n !== undefined ? words[n] : words.includes(v.toLowerCase()) ? v.toLowerCase() : undefined;
      if (word === undefined) return { error: `${key} "${v}" is not one of ${words.join(' ')} (or 0-${words.length - 1})` };
    } else if (NUMBER_OPTS.has(key)) {
      word = numberIn(v, 0, 65535) !== undefined ? String(Number(v)) : undefined;
      if (word === undefined) return { error: `${key} "${v}" is not a number` };
    } else if (FLAG_OPTS.has(key)) {
      word = v === '0' || v === '1' ? v : undefined;
      if (word === undefined) return { error: `${key} "${v}" is not 0 or 1` };
    } else if (key === 'primary') {
      word = isLinkName(v) ? v : undefined;
      if (word === undefined) return { error: `primary "${v}" is not a link name` };
    } else if (key === 'arp_ip_target') {
      word = v.split('+').every((a) => isIPv4(a)) ? v.replace(/\+/g, ',') : undefined;
      if (word === undefined) return { error: `arp_ip_target "${v}" is not IPv4 addresses joined by +` };
    } else if (key === 'ad_actor_system') {
      word = isMac(v) ? v : undefined;
      if (word === undefined) return { error: `ad_actor_system "${v}" is not a MAC address` };
    } else {
      return { error: `"${key}" is not a bonding option (known: ${[...Object.keys(WORD_OPTS), ...NUMBER_OPTS, ...FLAG_OPTS, 'primary', 'arp_ip_target', 'ad_actor_system'].join(' ')})` };
    }
    if (opts.some(([k]) => k === key)) return { error: `${key} is given twice` };
    opts.push([key, word]);
  }
  return { opts };
}

/** A list of NIC names or MACs (comma- or space-separated, no repeats), or undefined. */
export function parseLinkList(value: string): string[] | undefined {
  const items = value.trim().split(/[\s,]+/).filter((x) => x !== '');
  if (items.length === 0 || items.some((x) => !isLinkName(x) && !isMac(x))) return undefined;
  return new Set(items.map((x) => x.toLowerCase())).size === items.length ? items : undefined;
}

/** IFNAMES `name=mac name2=mac2` as pairs (no name or MAC twice), or undefined. */
export function parseIfnames(value: string): { name: string; mac: string }[] | undefined {
  const pairs = value.trim().split(/\s+/).filter((x) => x !== '').map((x) => /^([^=]+)=(.+)$/.exec(x));
  if (pairs.length === 0 || pairs.some((m) => !m || !isLinkName(m[1]!) || !isMac(m[2]!))) return undefined;
  const out = pairs.map((m) => ({ name: m![1]!, mac: m![2]!.toLowerCase() }));
  return new Set(out.map((p) => p.name)).size === out.length && new Set(out.map((p) => p.mac)).size === out.length ? out : undefined;
}

/** The entries of a name-server list (DNS_SERVERS): separated by blanks and/or commas, an IPv6 one out of its brackets. */
export function dnsListEntries(value: string): string[] {
  return value
    .split(/[\s,]+/)
    .filter((d) => d !== '')
    .map((d) => d.replace(/^\[(.*)\]$/, '$1'));
}

/** Why a value is not acceptable for one of the network kinds, or undefined when it is. */
export function checkNetKind(kind: string, value: string): string | undefined {
  switch (kind) {
    case 'mtu':
      return numberIn(value, 68, 9216) === undefined ? 'is not an MTU (68-9216)' : undefined;
    case 'vlanid':
      return numberIn(value, 1, 4094) === undefined ? 'is not a VLAN id (1-4094)' : undefined;
    case 'ifname':
      return isLinkName(value) ? undefined : 'is not a link name (1-15 letters, digits, _ . -)';
    case 'link':
      return isLinkName(value) || isMac(value) ? undefined : 'is neither a link name nor a MAC address';
    case 'links':
      return parseLinkList(value) ? undefined : 'is not a list of NIC names or MAC addresses (comma-separated, each once)';
    case 'bondopts': {
      const r = parseBondOpts(value);
      return 'error' in r ? `has a bad bonding option: ${r.error}` : undefined;
    }
    case 'ifnames':
      return parseIfnames(value) ? undefined : 'is not name=mac pairs, space-separated, each name and MAC once';
    case 'dnslist': {
      const bad = dnsListEntries(value).find((a) => !isIPv4(a) && checkIPv6(a, false) !== undefined);
      return bad === undefined ? undefined : `has "${bad}", which is neither an IPv4 nor an IPv6 address`;
    }
    default:
      return undefined;
  }
}
