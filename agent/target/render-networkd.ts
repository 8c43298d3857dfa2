// systemd-networkd: .network files matching the golden client's Ethernet removed, one for the install NIC.

import type { FileChange } from './file-changes.js';
import type { NetSettings } from './net-settings.js';
import { PHYSICAL_ETHERNET } from './net-style.js';
import type { TargetView } from './target-view.js';

/** The .network file for the NIC. */
export function renderNetworkd(nic: string, s: NetSettings): string {
  const l = ['# written by si-agent (SystemImager)', '[Match]', `Name=${nic}`, '', '[Network]'];
  if (s.assignment !== 'static') l.push('DHCP=yes');
  else {
    l.push(`Address=${s.ip}/${s.prefix}`);
    if (s.gateway) l.push(`Gateway=${s.gateway}`);
    for (const d of s.dns) l.push(`DNS=${d}`);
    if (s.domain) l.push(`Domains=${s.domain}`);
  }
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

/** Changes for networkd: old Ethernet .network files removed, ours written. */
export function planNetworkd(view: TargetView, nic: string, s: NetSettings): FileChange[] {
  const changes: FileChange[] = [];
  const ours = `/etc/systemd/network/50-systemimager-${nic}.network`;
  for (const f of view.list('/etc/systemd/network').filter((n) => n.endsWith('.network'))) {
    const path = `/etc/systemd/network/${f}`;
    if (path !== ours && matchesEthernet(view.read(path) ?? '')) changes.push({ kind: 'remove', path });
  }
  changes.push({ kind: 'write', path: ours, content: renderNetworkd(nic, s) });
  return changes;
}
