// systemd-networkd: .network files matching the golden client's Ethernet removed; .netdev and .network files for the install links.

import type { FileChange } from './file-changes.js';
import { droppedNote, mapBondOptions, type LinkLayout, type StyleChanges } from './net-layout.js';
import type { NetSettings } from './net-settings.js';
import { PHYSICAL_ETHERNET } from './net-style.js';
import type { TargetView } from './target-view.js';

const DIR = '/etc/systemd/network';
const HEAD = '# written by si-agent (SystemImager)';

/** Kernel bonding options as systemd.netdev(5) [Bond] keys (primary goes on the slave's .network as PrimarySlave=). */
const BOND_KEYS: Record<string, string> = {
  xmit_hash_policy: 'TransmitHashPolicy', lacp_rate: 'LACPTransmitRate', miimon: 'MIIMonitorSec', updelay: 'UpDelaySec', downdelay: 'DownDelaySec',
  arp_interval: 'ARPIntervalSec', arp_ip_target: 'ARPIPTargets', arp_validate: 'ARPValidate', arp_all_targets: 'ARPAllTargets',
  primary_reselect: 'PrimaryReselectPolicy', fail_over_mac: 'FailOverMACPolicy', ad_select: 'AdSelect', resend_igmp: 'ResendIGMP',
  num_grat_arp: 'GratuitousARP', min_links: 'MinLinks', lp_interval: 'LearnPacketIntervalSec', packets_per_slave: 'PacketsPerSlave',
  all_slaves_active: 'AllSlavesActive', tlb_dynamic_lb: 'DynamicTransmitLoadBalancing', ad_actor_sys_prio: 'AdActorSystemPriority',
  ad_user_port_key: 'AdUserPortKey', ad_actor_system: 'AdActorSystem', peer_notif_delay: 'PeerNotifyDelaySec', primary: 'primary',
};
/** Kernel options counted in milliseconds, whose networkd keys take a time span. */
const MILLIS = new Set(['MIIMonitorSec', 'UpDelaySec', 'DownDelaySec', 'ARPIntervalSec', 'PeerNotifyDelaySec']);

/** The .netdev of the bond or the VLAN. */
export function renderNetdev(name: string, L: LinkLayout): string {
  const l = [HEAD, '[NetDev]', `Name=${name}`, `Kind=${L.bond?.name === name ? 'bond' : 'vlan'}`];
  if (L.mtu !== undefined) l.push(`MTUBytes=${L.mtu}`);
  if (L.bond?.name === name) {
    l.push('', '[Bond]', `Mode=${L.bond.mode}`);
    for (const [k, v] of mapBondOptions(L.bond.options, BOND_KEYS).mapped) {
      if (k !== 'primary') l.push(`${k}=${k === 'ARPIPTargets' ? v.replace(/,/g, ' ') : v}${MILLIS.has(k) ? 'ms' : ''}`);
    }
  } else l.push('', '[VLAN]', `Id=${L.vlan!.id}`);
  return l.join('\n') + '\n';
}

/**
 * The [Network] lines that give the top link its addresses. IPV6_ASSIGNMENT=off turns off router advertisements and
 * the link-local address (no IPv4LL either: that is not the install's); unset writes nothing for IPv6 (networkd's default stays).
 */
function addressLines(s: NetSettings): string[] {
  const v6 = s.ipv6.assignment;
  const dhcp = [s.assignment === 'dhcp' && 'ipv4', v6 === 'dhcp6' && 'ipv6'].filter((x): x is string => x !== false);
  const l: string[] = [];
  if (dhcp.length > 0) l.push(`DHCP=${dhcp.length === 2 ? 'yes' : dhcp[0]}`);
  if (s.assignment === 'static') l.push(`Address=${s.ip}/${s.prefix}`, ...(s.gateway ? [`Gateway=${s.gateway}`] : []));
  if (v6 === 'static') l.push(`Address=${s.ipv6.address}/${s.ipv6.prefix}`, ...(s.ipv6.gateway ? [`Gateway=${s.ipv6.gateway}`] : []));
  if (v6 !== 'off') l.push(`IPv6AcceptRA=${v6 === 'static' ? 'no' : 'yes'}`);
  else if (s.ipv6.disable) l.push('IPv6AcceptRA=no', 'LinkLocalAddressing=no');
  if (s.assignment === 'static' || v6 === 'static') {
    for (const d of s.dns) l.push(`DNS=${d}`);
    if (s.domain) l.push(`Domains=${s.domain}`);
  }
  return l;
}

/** The .network of one install link: a slave (Bond=), the VLAN's parent (VLAN=), the top (addresses), or several. */
export function renderNetworkFor(name: string, L: LinkLayout, s: NetSettings): string {
  const l = [HEAD, '[Match]', `Name=${name}`];
  const isNic = L.nics.includes(name);
  if (L.mtu !== undefined && isNic) l.push('', '[Link]', `MTUBytes=${L.mtu}`);
  l.push('', '[Network]');
  if (L.bond && isNic) {
    l.push(`Bond=${L.bond.name}`);
    if (L.bond.options.some(([k, v]) => k === 'primary' && v === name)) l.push('PrimarySlave=yes');
  }
  if (L.vlan && L.vlan.parent === name) l.push(`VLAN=${L.vlan.name}`);
  if (name === L.top) l.push(...addressLines(s));
  else if (!(L.bond && isNic)) l.push('LinkLocalAddressing=no');
  return l.join('\n') + '\n';
}

/** True when a .network file's [Match] names physical Ethernet (by name or glob) or a MAC address. */
export function matchesEthernet(text: string): boolean {
  const match = /\[Match\]([^[]*)/i.exec(text)?.[1] ?? '';
  if (/^\s*(MACAddress|PermanentMACAddress)\s*=/im.test(match)) return true;
  if (/^\s*Type\s*=\s*ether\s*$/im.test(match)) return true;
  const names = /^\s*Name\s*=\s*(.+)$/im.exec(match)?.[1]?.trim().split(/\s+/) ?? [];
  return names.some((n) => PHYSICAL_ETHERNET.test(n));
}

/** The Name= of a file's [Match] (.network) or [NetDev] (.netdev) section. */
const namesIn = (text: string, section: string) => /^\s*Name\s*=\s*(.+)$/im.exec(new RegExp(`\\[${section}\\]([^[]*)`, 'i').exec(text)?.[1] ?? '')?.[1]?.trim().split(/\s+/) ?? [];

/**
 * Changes for networkd: the golden client's Ethernet .network files removed, and its .network/.netdev files for the
 * names ours take (an old bond0.netdev would make a second bond0); one .netdev per bond and VLAN, one .network per link.
 */
export function planNetworkd(view: TargetView, L: LinkLayout, s: NetSettings): StyleChanges {
  const virtual = [...(L.bond ? [L.bond.name] : []), ...(L.vlan ? [L.vlan.name] : [])];
  const links = [...L.nics, ...virtual];
  const ours = new Map<string, string>();
  for (const n of virtual) ours.set(`${DIR}/50-systemimager-${n}.netdev`, renderNetdev(n, L));
  for (const n of links) ours.set(`${DIR}/50-systemimager-${n}.network`, renderNetworkFor(n, L, s));
  const changes: FileChange[] = [];
  for (const f of view.list(DIR)) {
    const path = `${DIR}/${f}`;
    if (ours.has(path)) continue;
    const text = view.read(path) ?? '';
    const stale = f.endsWith('.network') ? matchesEthernet(text) || namesIn(text, 'Match').some((n) => links.includes(n)) : f.endsWith('.netdev') && namesIn(text, 'NetDev').some((n) => virtual.includes(n));
    if (stale) changes.push({ kind: 'remove', path });
  }
  for (const [path, content] of ours) changes.push({ kind: 'write', path, content });
  const dropped = L.bond ? mapBondOptions(L.bond.options, BOND_KEYS).dropped : [];
  return { changes, notes: droppedNote('systemd-networkd', dropped) };
}
