// NetworkManager keyfiles: the golden client's Ethernet profiles removed; one profile per install link (NIC, bond port, bond, VLAN).

import { createHash } from 'node:crypto';
import type { FileChange } from './file-changes.js';
import { splitDns, type LinkLayout, type StyleChanges } from './net-layout.js';
import { hasStaticAddress, type NetSettings } from './net-settings.js';
import type { TargetView } from './target-view.js';

const DIR = '/etc/NetworkManager/system-connections';

/** A profile's UUID: the caller's for the top link (rendering stays pure), one derived from it and the name for the others. */
export function profileUuid(base: string, name: string, top: string): string {
  if (name === top) return base;
  const h = createHash('sha1').update(`${base}/${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * [ipv4] and [ipv6] of the top link: disabled when off (IPv6 only when IPV6_ASSIGNMENT=off was given; unset keeps
 * NetworkManager's default, auto). With a static address in either family the name servers go in by family (a keyfile's
 * [ipv4] takes IPv4 servers only, [ipv6] IPv6 ones), the search domain in the first family that is on.
 */
function ipSections(s: NetSettings): string[] {
  const { v4on, v6on } = familiesOn(s);
  const dns = hasStaticAddress(s) ? splitDns(s.dns) : { v4: [], v6: [] };
  const search = hasStaticAddress(s) && s.domain ? [`dns-search=${s.domain};`] : [];
  const l = ['[ipv4]'];
  if (s.assignment === 'off') l.push('method=disabled');
  else if (s.assignment !== 'static') l.push('method=auto');
  else l.push('method=manual', `address1=${s.ip}/${s.prefix}${s.gateway ? `,${s.gateway}` : ''}`);
  if (v4on && dns.v4.length > 0) l.push(`dns=${dns.v4.join(';')};`);
  if (v4on) l.push(...search);
  const v6 = s.ipv6;
  l.push('', '[ipv6]');
  if (v6.assignment === 'static') l.push('method=manual', `address1=${v6.address}/${v6.prefix}${v6.gateway ? `,${v6.gateway}` : ''}`);
  else l.push(`method=${v6.disable ? 'disabled' : v6.assignment === 'dhcp6' ? 'dhcp' : 'auto'}`);
  if (v6on && dns.v6.length > 0) l.push(`dns=${dns.v6.join(';')};`);
  if (v6on && !v4on) l.push(...search);
  return l;
}

/** Which of the top link's families NetworkManager runs (a disabled one takes no name servers). */
const familiesOn = (s: NetSettings) => ({ v4on: s.assignment !== 'off', v6on: !s.ipv6.disable });

/** A note naming the name servers a disabled family cannot carry in a keyfile. */
function droppedDnsNotes(s: NetSettings): string[] {
  if (!hasStaticAddress(s)) return [];
  const { v4on, v6on } = familiesOn(s);
  const dns = splitDns(s.dns);
  const out: string[] = [];
  if (!v4on && dns.v4.length > 0) out.push(`NetworkManager keeps IPv4 name servers in [ipv4], which IPV4_ASSIGNMENT=off disables: ${dns.v4.join(', ')} left out of the keyfile`);
  if (!v6on && dns.v6.length > 0) out.push(`NetworkManager keeps IPv6 name servers in [ipv6], which IPV6_ASSIGNMENT=off disables: ${dns.v6.join(', ')} left out of the keyfile`);
  return out;
}

/** The keyfile of one install link; uuid is the top link's, given by the caller. */
export function renderNmProfile(name: string, L: LinkLayout, s: NetSettings, uuid: string): string {
  const isBond = L.bond?.name === name;
  const isVlan = L.vlan?.name === name;
  const port = L.bond && L.nics.includes(name);
  const type = isBond ? 'bond' : isVlan ? 'vlan' : 'ethernet';
  const l = ['# written by si-agent (SystemImager)', '[connection]', `id=${name}`, `uuid=${profileUuid(uuid, name, L.top)}`, `type=${type}`, `interface-name=${name}`];
  // master/slave-type: the keyfile names NetworkManager has read since 1.0 (controller/port-type are 1.46's aliases).
  if (port) l.push(`master=${L.bond!.name}`, 'slave-type=bond');
  l.push('autoconnect=true', '', '[ethernet]');
  if (L.mtu !== undefined) l.push(`mtu=${L.mtu}`);
  if (isBond) {
    l.push('', '[bond]', `mode=${L.bond!.mode}`);
    for (const [k, v] of L.bond!.options) l.push(`${k}=${v}`);
  }
  if (isVlan) l.push('', '[vlan]', `id=${L.vlan!.id}`, `parent=${L.vlan!.parent}`);
  // A port has no IP settings; a link under the top (the bond or NIC carrying the VLAN) has none in use.
  if (name === L.top) l.push('', ...ipSections(s));
  else if (!port) l.push('', '[ipv4]', 'method=disabled', '', '[ipv6]', 'method=disabled');
  return l.join('\n') + '\n';
}

/** True when a keyfile is a wired profile (type=ethernet or 802-3-ethernet). */
export function isEthernetKeyfile(text: string): boolean {
  return /^\s*type\s*=\s*(ethernet|802-3-ethernet)\s*$/im.test(text);
}

/** The interface-name= of a keyfile. */
const interfaceName = (text: string) => /^\s*interface-name\s*=\s*(\S+)\s*$/m.exec(text)?.[1];

/** Changes for NetworkManager: wired keyfiles and profiles for our link names removed, ours written 0600. */
export function planNetworkManager(view: TargetView, L: LinkLayout, s: NetSettings, uuid: string): StyleChanges {
  const links = [...L.nics, ...(L.bond ? [L.bond.name] : []), ...(L.vlan ? [L.vlan.name] : [])];
  const ours = new Map(links.map((n) => [`${DIR}/${n}.nmconnection`, renderNmProfile(n, L, s, uuid)]));
  const changes: FileChange[] = [];
  for (const f of view.list(DIR)) {
    const path = `${DIR}/${f}`;
    const text = view.read(path) ?? '';
    if (!ours.has(path) && (isEthernetKeyfile(text) || links.includes(interfaceName(text) ?? ''))) changes.push({ kind: 'remove', path });
  }
  for (const [path, content] of ours) changes.push({ kind: 'write', path, content, mode: 0o600 });
  return { changes, notes: droppedDnsNotes(s) };
}
