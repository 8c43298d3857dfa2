// RHEL network-scripts: ifcfg-* files of the golden client's Ethernet removed; ifcfg-<link> for each install link (bond, slaves, VLAN).

import type { FileChange } from './file-changes.js';
import type { LinkLayout, StyleChanges } from './net-layout.js';
import type { NetSettings } from './net-settings.js';
import { PHYSICAL_ETHERNET } from './net-style.js';
import type { TargetView } from './target-view.js';

const DIR = '/etc/sysconfig/network-scripts';

/**
 * The address lines of the top link: BOOTPROTO and IPv4, then IPV6INIT and its mode. IPV6_ASSIGNMENT=off: IPV6INIT=no,
 * and IPV6_DISABLED=yes as NetworkManager's ifcfg-rh writes for method=disabled (initscripts ignore it); unset: nothing.
 */
function addressLines(s: NetSettings): string[] {
  const l: string[] = [];
  if (s.assignment === 'dhcp') l.push('BOOTPROTO=dhcp');
  else if (s.assignment === 'off') l.push('BOOTPROTO=none');
  else {
    l.push('BOOTPROTO=none', `IPADDR=${s.ip}`, `PREFIX=${s.prefix}`);
    if (s.gateway) l.push(`GATEWAY=${s.gateway}`, 'DEFROUTE=yes');
  }
  const v6 = s.ipv6;
  if (v6.disable) l.push('IPV6INIT=no', 'IPV6_DISABLED=yes');
  if (v6.assignment === 'auto') l.push('IPV6INIT=yes', 'IPV6_AUTOCONF=yes');
  if (v6.assignment === 'dhcp6') l.push('IPV6INIT=yes', 'IPV6_AUTOCONF=no', 'DHCPV6C=yes');
  if (v6.assignment === 'static') {
    l.push('IPV6INIT=yes', 'IPV6_AUTOCONF=no', `IPV6ADDR=${v6.address}/${v6.prefix}`);
    if (v6.gateway) l.push(`IPV6_DEFAULTGW=${v6.gateway}`);
  }
  if (s.assignment === 'static' || v6.assignment === 'static') {
    s.dns.forEach((d, i) => l.push(`DNS${i + 1}=${d}`));
    if (s.domain) l.push(`DOMAIN=${s.domain}`);
  }
  return l;
}

/** The ifcfg file of one install link: bound by name; a NIC named by IFNAMES also by HWADDR= (initscripts rename by it). */
export function renderIfcfgFor(name: string, L: LinkLayout, s: NetSettings): string {
  const l = ['# written by si-agent (SystemImager)', `DEVICE=${name}`, `NAME=${name}`];
  const named = L.nics.includes(name) ? s.ifnames.find((r) => r.name === name) : undefined;
  if (named) l.push(`HWADDR=${named.mac.toUpperCase()}`);
  const port = L.bond !== undefined && L.nics.includes(name);
  if (L.bond?.name === name) {
    const opts = [`mode=${L.bond.mode}`, ...L.bond.options.map(([k, v]) => `${k}=${v}`)];
    l.push('TYPE=Bond', 'BONDING_MASTER=yes', `BONDING_OPTS="${opts.join(' ')}"`);
  } else if (L.vlan?.name === name) l.push('VLAN=yes', `PHYSDEV=${L.vlan.parent}`, `VLAN_ID=${L.vlan.id}`);
  else l.push('TYPE=Ethernet');
  if (port) l.push(`MASTER=${L.bond!.name}`, 'SLAVE=yes');
  l.push('ONBOOT=yes');
  if (L.mtu !== undefined) l.push(`MTU=${L.mtu}`);
  if (name === L.top) l.push(...addressLines(s));
  else l.push('BOOTPROTO=none');
  return l.join('\n') + '\n';
}

/** True when an ifcfg file describes a physical Ethernet interface. */
export function isEthernetIfcfg(name: string, text: string): boolean {
  if (/^\s*TYPE\s*=\s*"?Ethernet"?\s*$/im.test(text)) return true;
  const device = /^\s*DEVICE\s*=\s*"?([^"\s]+)"?/m.exec(text)?.[1] ?? name.replace(/^ifcfg-/, '');
  return PHYSICAL_ETHERNET.test(device) && !/^\s*TYPE\s*=/im.test(text);
}

/** Changes for ifcfg: old Ethernet files and files for our link names removed, ifcfg-<link> written for each install link. */
export function planIfcfg(view: TargetView, L: LinkLayout, s: NetSettings): StyleChanges {
  const links = [...L.nics, ...(L.bond ? [L.bond.name] : []), ...(L.vlan ? [L.vlan.name] : [])];
  const ours = new Map(links.map((n) => [`${DIR}/ifcfg-${n}`, renderIfcfgFor(n, L, s)]));
  const changes: FileChange[] = [];
  for (const f of view.list(DIR).filter((n) => n.startsWith('ifcfg-') && n !== 'ifcfg-lo')) {
    const path = `${DIR}/${f}`;
    if (ours.has(path)) continue;
    const text = view.read(path) ?? '';
    const device = /^\s*DEVICE\s*=\s*"?([^"\s]+)"?/m.exec(text)?.[1] ?? f.slice(6);
    if (isEthernetIfcfg(f, text) || links.includes(device)) changes.push({ kind: 'remove', path });
  }
  for (const [path, content] of ours) changes.push({ kind: 'write', path, content });
  return { changes, notes: [] };
}
