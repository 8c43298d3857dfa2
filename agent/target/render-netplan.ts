// netplan: the golden client's Ethernet YAML moved aside, one file for the install links (ethernets, bonds, vlans) in its renderer.

import type { FileChange } from './file-changes.js';
import { droppedNote, mapBondOptions, type LinkLayout, type StyleChanges } from './net-layout.js';
import type { NetSettings } from './net-settings.js';
import type { TargetView } from './target-view.js';

export const NETPLAN_FILE = '/etc/netplan/50-systemimager.yaml';

/** Kernel bonding options as netplan bond `parameters:` (the names netplan 0.99-1.x read). */
const BOND_PARAMS: Record<string, string> = {
  lacp_rate: 'lacp-rate', miimon: 'mii-monitor-interval', min_links: 'min-links', xmit_hash_policy: 'transmit-hash-policy', ad_select: 'ad-select',
  all_slaves_active: 'all-slaves-active', arp_interval: 'arp-interval', arp_ip_target: 'arp-ip-targets', arp_validate: 'arp-validate',
  arp_all_targets: 'arp-all-targets', updelay: 'up-delay', downdelay: 'down-delay', fail_over_mac: 'fail-over-mac-policy',
  num_grat_arp: 'gratuitous-arp', packets_per_slave: 'packets-per-slave', primary_reselect: 'primary-reselect-policy',
  resend_igmp: 'resend-igmp', lp_interval: 'learn-packet-interval', primary: 'primary',
};
/** Options netplan takes as a YAML boolean, a list, or a time in milliseconds. */
const BOOLS = new Set(['all-slaves-active']);

/** A netplan bond parameter's YAML value. */
function paramValue(key: string, v: string): string {
  if (BOOLS.has(key)) return v === '1' ? 'true' : 'false';
  if (key === 'arp-ip-targets') return `[${v.split(',').join(', ')}]`;
  return /^[0-9]+$/.test(v) || /^[a-z0-9._+-]+$/i.test(v) ? v : JSON.stringify(v);
}

/**
 * The address lines of the top link (6-space indent); IPv4 off writes dhcp4: false and no address, IPV6_ASSIGNMENT=off
 * no router advertisements and no link-local address (unset: netplan's defaults).
 */
function addressLines(s: NetSettings): string[] {
  const l = [`      dhcp4: ${s.assignment === 'dhcp'}`];
  const v6 = s.ipv6;
  if (v6.assignment !== 'off') l.push(`      dhcp6: ${v6.assignment === 'dhcp6'}`, `      accept-ra: ${v6.assignment !== 'static'}`);
  else if (v6.disable) l.push('      dhcp6: false', '      accept-ra: false', '      link-local: []');
  const addrs = [...(s.assignment === 'static' ? [`${s.ip}/${s.prefix}`] : []), ...(v6.assignment === 'static' ? [`"${v6.address}/${v6.prefix}"`] : [])];
  if (addrs.length > 0) l.push(`      addresses: [${addrs.join(', ')}]`);
  const gws = [...(s.assignment === 'static' && s.gateway ? [s.gateway] : []), ...(v6.assignment === 'static' && v6.gateway ? [`"${v6.gateway}"`] : [])];
  if (gws.length > 0) l.push('      routes:', ...gws.flatMap((g) => [`        - to: ${g.includes(':') ? '"::/0"' : 'default'}`, `          via: ${g}`]));
  if ((s.assignment === 'static' || v6.assignment === 'static') && (s.dns.length > 0 || s.domain)) {
    l.push('      nameservers:');
    if (s.dns.length > 0) l.push(`        addresses: [${s.dns.map((d) => (d.includes(':') ? `"${d}"` : d)).join(', ')}]`);
    if (s.domain) l.push(`        search: [${s.domain}]`);
  }
  return l;
}

/** The lines of one link under its section: MTU, bond or VLAN keys, addresses on the top link. */
function linkLines(name: string, L: LinkLayout, s: NetSettings): string[] {
  const l = [`    ${name}:`];
  if (L.bond?.name === name) {
    l.push(`      interfaces: [${L.bond.slaves.join(', ')}]`, '      parameters:', `        mode: ${L.bond.mode}`);
    for (const [k, v] of mapBondOptions(L.bond.options, BOND_PARAMS).mapped) l.push(`        ${k}: ${paramValue(k, v)}`);
  }
  if (L.vlan?.name === name) l.push(`      id: ${L.vlan.id}`, `      link: ${L.vlan.parent}`);
  if (L.mtu !== undefined) l.push(`      mtu: ${L.mtu}`);
  if (name === L.top) l.push(...addressLines(s));
  else if (!L.bond || !L.nics.includes(name)) l.push('      dhcp4: false', '      dhcp6: false', '      link-local: []');
  else l.push('      dhcp4: false');
  return l;
}

/** The netplan YAML for the install links (renderer kept from the image when it named one). */
export function renderNetplan(L: LinkLayout, s: NetSettings, renderer?: string): string {
  const l = ['# written by si-agent (SystemImager)', 'network:', '  version: 2'];
  if (renderer) l.push(`  renderer: ${renderer}`);
  l.push('  ethernets:', ...L.nics.flatMap((n) => linkLines(n, L, s)));
  if (L.bond) l.push('  bonds:', ...linkLines(L.bond.name, L, s));
  if (L.vlan) l.push('  vlans:', ...linkLines(L.vlan.name, L, s));
  return l.join('\n') + '\n';
}

/**
 * Files with an `ethernets:`, `bonds:` or `vlans:` section are renamed to *.si-disabled (netplan reads only *.yaml),
 * since they name the golden client's NICs, MACs or a bond ours would meet; the first `renderer:` seen is kept.
 */
export function planNetplan(view: TargetView, L: LinkLayout, s: NetSettings): StyleChanges {
  const changes: FileChange[] = [];
  let renderer: string | undefined;
  for (const f of view.list('/etc/netplan').filter((n) => /\.ya?ml$/.test(n))) {
    const path = `/etc/netplan/${f}`;
    if (path === NETPLAN_FILE) continue;
    const text = view.read(path) ?? '';
    renderer ??= /^\s{2}renderer:\s*(networkd|NetworkManager)\s*$/m.exec(text)?.[1];
    if (/^\s*(ethernets|bonds|vlans):/m.test(text)) changes.push({ kind: 'rename', path, to: `${path}.si-disabled` });
  }
  changes.push({ kind: 'write', path: NETPLAN_FILE, content: renderNetplan(L, s, renderer), mode: 0o600 });
  return { changes, notes: droppedNote('netplan', L.bond ? mapBondOptions(L.bond.options, BOND_PARAMS).dropped : []) };
}
