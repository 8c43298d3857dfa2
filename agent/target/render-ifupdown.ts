// Debian ifupdown: /etc/network/interfaces with the golden client's Ethernet stanzas replaced by the install NIC's.

import type { FileChange } from './file-changes.js';
import type { NetSettings } from './net-settings.js';
import { PHYSICAL_ETHERNET } from './net-style.js';
import type { TargetView } from './target-view.js';

/** The install NIC's stanza (auto + iface, dhcp or static). */
export function renderIfupdownStanza(nic: string, s: NetSettings): string {
  if (s.assignment !== 'static') return `auto ${nic}\nallow-hotplug ${nic}\niface ${nic} inet dhcp\n`;
  const lines = [`auto ${nic}`, `iface ${nic} inet static`, `\taddress ${s.ip}`, `\tnetmask ${s.netmask}`];
  if (s.gateway) lines.push(`\tgateway ${s.gateway}`);
  if (s.dns.length > 0) lines.push(`\tdns-nameservers ${s.dns.join(' ')}`);
  if (s.domain) lines.push(`\tdns-search ${s.domain}`);
  return lines.join('\n') + '\n';
}

/**
 * Drops stanzas of physical Ethernet interfaces (and of the NIC itself) with their option lines,
 * and those names from auto/allow-* lines; keeps lo, bridges, bonds, VLANs, wireless, source lines.
 */
export function stripEthernetStanzas(text: string, nic: string): string {
  const drop = (name: string) => name === nic || PHYSICAL_ETHERNET.test(name.split(/[.:]/)[0]!);
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

/** Changes for ifupdown: interfaces.d files cleaned, the main file cleaned and given the NIC's stanza. */
export function planIfupdown(view: TargetView, nic: string, s: NetSettings): FileChange[] {
  const changes: FileChange[] = [];
  for (const f of view.list('/etc/network/interfaces.d')) {
    const path = `/etc/network/interfaces.d/${f}`;
    const text = view.read(path);
    if (text === undefined) continue;
    const next = stripEthernetStanzas(text, nic);
    if (next !== text) changes.push({ kind: 'write', path, content: next });
  }
  const base = view.read('/etc/network/interfaces') ?? 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n';
  const withLo = /^\s*iface\s+lo\s/m.test(base) ? base : base.replace(/\n*$/, '\n\nauto lo\niface lo inet loopback\n');
  const cleaned = stripEthernetStanzas(withLo, nic).replace(/\n*$/, '\n');
  changes.push({ kind: 'write', path: '/etc/network/interfaces', content: `${cleaned}\n# The install NIC (written by si-agent)\n${renderIfupdownStanza(nic, s)}` });
  return changes;
}
