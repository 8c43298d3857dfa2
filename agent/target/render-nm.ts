// NetworkManager keyfiles: the golden client's Ethernet profiles removed; one profile per install link (NIC, bond port, bond, VLAN).

import { createHash } from 'node:crypto';
import type { FileChange } from './file-changes.js';
import { splitDns, type LinkLayout, type StyleChanges } from './net-layout.js';
import type { NetSettings } from './net-settings.js';
import type { TargetView } from './target-view.js';

const DIR = '/etc/NetworkManager/system-connections';

/** A profile's UUID: the caller's for the top link (rendering stays pure), one derived from it and the name for the others. */
export function profileUuid(base: string, name: string, top: string): string {
  if (name === top) return base;
  const h = createHash('sha1').update(`${base}/${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** [ipv4] and [ipv6] of the top link: disabled when off (IPv6 off keeps NetworkManager's default, auto), DNS by family. */
function ipSections(s: NetSettings): string[] {
  const dns = splitDns(s.dns);
  const l = ['[ipv4]'];
  if (s.assignment === 'off') l.push('method=disabled');
  else if (s.assignment !== 'static') l.push('method=auto');
  else {
    l.push('method=manual', `address1=${s.ip}/${s.prefix}${s.gateway ? `,${s.gateway}` : ''}`);
    if (dns.v4.length > 0) l.push(`dns=${dns.v4.join(';')};`);
    if (s.domain) l.push(`dns-search=${s.domain};`);
  }
  const v6 = s.ipv6;
  l.push('', '[ipv6]');
  if (v6.assignment === 'static') {
    l.push('method=manual', `address1=${v6.address}/${v6.prefix}${v6.gateway ? `,${v6.gateway}` : ''}`);
    if (dns.v6.length > 0) l.push(`dns=${dns.v6.join(';')};`);
    if (s.domain && s.assignment !== 'static') l.push(`dns-search=${s.domain};`);
  } else l.push(`method=${v6.assignment === 'dhcp6' ? 'dhcp' : 'auto'}`);
  return l;
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
  return { changes, notes: [] };
}
