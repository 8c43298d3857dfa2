// Debian ifupdown: /etc/network/interfaces with the golden client's Ethernet stanzas replaced by the install links' (ifenslave bonds, vlan VLANs).

import type { FileChange } from './file-changes.js';
import { droppedNote, mapBondOptions, type LinkLayout, type StyleChanges } from './net-layout.js';
import type { NetSettings } from './net-settings.js';
import { PHYSICAL_ETHERNET } from './net-style.js';
import type { TargetView } from './target-view.js';

/** The bonding options ifenslave's hooks write (/etc/network/if-pre-up.d/ifenslave), as bond-* words. */
const IFENSLAVE = Object.fromEntries(
  ['ad_select', 'arp_interval', 'arp_ip_target', 'arp_validate', 'downdelay', 'updelay', 'fail_over_mac', 'lacp_rate', 'miimon', 'num_grat_arp', 'num_unsol_na', 'packets_per_slave', 'primary', 'primary_reselect', 'tlb_dynamic_lb', 'use_carrier', 'xmit_hash_policy'].map((k) => [k, `bond-${k.replace(/_/g, '-')}`]),
);

/** Option lines of a link that are not addresses: the bond's (ifenslave), the VLAN's raw device (vlan), the MTU. */
function linkOptions(name: string, L: LinkLayout): string[] {
  const out: string[] = [];
  if (L.bond && name === L.bond.name) {
    out.push(`bond-slaves ${L.bond.slaves.join(' ')}`, `bond-mode ${L.bond.mode}`);
    for (const [k, v] of mapBondOptions(L.bond.options, IFENSLAVE).mapped) out.push(`${k} ${v.replace(/,/g, ' ')}`);
  }
  if (L.vlan && name === L.vlan.name) out.push(`vlan-raw-device ${L.vlan.parent}`);
  // A bond's slaves take its MTU when enslaved: they need no stanza of their own.
  if (L.mtu !== undefined) out.push(`mtu ${L.mtu}`);
  return out;
}

const stanza = (head: string, options: readonly string[]) => [head, ...options.map((o) => `\t${o}`)].join('\n') + '\n';

/** The address stanzas of the top link: IPv4 (dhcp, static; none when off), then IPv6 (auto, dhcp, static). */
function addressStanzas(top: string, s: NetSettings): string[] {
  const out: string[] = [];
  const dns = [...(s.dns.length > 0 ? [`dns-nameservers ${s.dns.join(' ')}`] : []), ...(s.domain ? [`dns-search ${s.domain}`] : [])];
  if (s.assignment === 'dhcp') out.push(stanza(`iface ${top} inet dhcp`, []));
  if (s.assignment === 'static') out.push(stanza(`iface ${top} inet static`, [`address ${s.ip}`, `netmask ${s.netmask}`, ...(s.gateway ? [`gateway ${s.gateway}`] : []), ...dns]));
  const v6 = s.ipv6;
  if (v6.assignment === 'auto') out.push(stanza(`iface ${top} inet6 auto`, []));
  if (v6.assignment === 'dhcp6') out.push(stanza(`iface ${top} inet6 dhcp`, []));
  if (v6.assignment === 'static') {
    const opts = [`address ${v6.address}/${v6.prefix}`, ...(v6.gateway ? [`gateway ${v6.gateway}`] : []), ...(s.assignment === 'static' ? [] : dns)];
    out.push(stanza(`iface ${top} inet6 static`, opts));
  }
  return out;
}

/**
 * The install links' stanzas, lower links first (ifup brings `auto` links up in file order: the bond before its VLAN).
 * A link with link options gets an `inet manual` stanza for them (ifupdown applies every stanza of a link; `inet dhcp`
 * takes no mtu), the top link its address stanzas after it. A plain NIC keeps the one-stanza form.
 */
export function renderIfupdownStanzas(L: LinkLayout, s: NetSettings): string {
  const lower = [...(L.vlan && !L.bond ? [L.vlan.parent] : []), ...(L.bond && L.bond.name !== L.top ? [L.bond.name] : [])];
  const blocks = lower.map((n) => `auto ${n}\n${stanza(`iface ${n} inet manual`, linkOptions(n, L))}`);
  const opts = linkOptions(L.top, L);
  const plain = !L.bond && !L.vlan && opts.length === 0;
  const head = plain && s.assignment === 'dhcp' ? `auto ${L.top}\nallow-hotplug ${L.top}\n` : `auto ${L.top}\n`;
  blocks.push(head + [...(opts.length > 0 ? [stanza(`iface ${L.top} inet manual`, opts)] : []), ...addressStanzas(L.top, s)].join(''));
  return blocks.join('\n');
}

/** The names whose stanzas are replaced: the install links and, as before, every physical Ethernet NIC. */
const ourNames = (L: LinkLayout) => [...L.nics, ...(L.bond ? [L.bond.name] : []), ...(L.vlan ? [L.vlan.name] : [])];

/**
 * Drops stanzas of physical Ethernet interfaces (and of the install links) with their option lines,
 * and those names from auto/allow-* lines; keeps lo, bridges, bonds, VLANs, wireless, source lines.
 */
export function stripEthernetStanzas(text: string, names: readonly string[]): string {
  const drop = (name: string) => names.includes(name) || PHYSICAL_ETHERNET.test(name.split(/[.:]/)[0]!);
  const out: string[] = [];
  let skipping = false;
  for (const line of text.split('\n')) {
    const word = /^\s*(\S+)/.exec(line)?.[1];
    const stanzaStart = word !== undefined && /^(iface|mapping|auto|allow-\S+|source|source-directory|rename|no-auto-down|no-scripts)$/.test(word);
    if (stanzaStart) skipping = false;
    if (word === 'iface' || word === 'mapping') {
      const name = line.trim().split(/\s+/)[1] ?? '';
      if (drop(name)) {
        skipping = true;
        continue;
      }
    } else if (word === 'auto' || word?.startsWith('allow-')) {
      const names = line.trim().split(/\s+/).slice(1).filter((n) => !drop(n));
      if (names.length === 0) continue;
      out.push(`${word} ${names.join(' ')}`);
      continue;
    }
    if (skipping && word !== undefined && !word.startsWith('#')) continue;
    out.push(line);
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n');
}

/** Changes for ifupdown: interfaces.d files cleaned, the main file cleaned and given the install links' stanzas. */
export function planIfupdown(view: TargetView, L: LinkLayout, s: NetSettings): StyleChanges {
  const changes: FileChange[] = [];
  const names = ourNames(L);
  for (const f of view.list('/etc/network/interfaces.d')) {
    const path = `/etc/network/interfaces.d/${f}`;
    const text = view.read(path);
    if (text === undefined) continue;
    const next = stripEthernetStanzas(text, names);
    if (next !== text) changes.push({ kind: 'write', path, content: next });
  }
  const base = view.read('/etc/network/interfaces') ?? 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n';
  const withLo = /^\s*iface\s+lo\s/m.test(base) ? base : base.replace(/\n*$/, '\n\nauto lo\niface lo inet loopback\n');
  const cleaned = stripEthernetStanzas(withLo, names).replace(/\n*$/, '\n');
  const what = L.bond || L.vlan ? 'The install links' : 'The install NIC';
  changes.push({ kind: 'write', path: '/etc/network/interfaces', content: `${cleaned}\n# ${what} (written by si-agent)\n${renderIfupdownStanzas(L, s)}` });
  return { changes, notes: [...droppedNote('ifupdown (ifenslave)', L.bond ? mapBondOptions(L.bond.options, IFENSLAVE).dropped : []), ...imageNotes(view, L, s)] };
}

/** The hook that makes a bond from bond-slaves (package ifenslave); without it ifup leaves the bond absent. */
export const IFENSLAVE_HOOK = '/etc/network/if-pre-up.d/ifenslave';

/** What the installed system will not do as written: a bond without ifenslave's hook, IPv6 autoconfiguration left on. */
function imageNotes(view: TargetView, L: LinkLayout, s: NetSettings): string[] {
  const out: string[] = [];
  if (L.bond && !view.exists(IFENSLAVE_HOOK)) {
    out.push(`the image has no ${IFENSLAVE_HOOK}: ${L.bond.name} (bond-slaves ${L.bond.slaves.join(' ')}) will not come up at boot; install ifenslave in the image (apt install ifenslave)`);
  }
  // ifupdown's inet6 methods set accept_ra and autoconf only for a link they configure; there is no "off" stanza.
  if (s.ipv6.disable) out.push(`ifupdown has no setting that turns IPv6 autoconfiguration off: no inet6 stanza is written for ${L.top}, which keeps the kernel's default (router advertisements accepted, a link-local address)`);
  return out;
}
