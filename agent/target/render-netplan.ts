// netplan: the golden client's Ethernet YAML moved aside, one file for the install NIC in its renderer.

import type { FileChange } from './file-changes.js';
import type { NetSettings } from './net-settings.js';
import type { TargetView } from './target-view.js';

export const NETPLAN_FILE = '/etc/netplan/50-systemimager.yaml';

/** The netplan YAML for the NIC (renderer kept from the image when it named one). */
export function renderNetplan(nic: string, s: NetSettings, renderer?: string): string {
  const l = ['# written by si-agent (SystemImager)', 'network:', '  version: 2'];
  if (renderer) l.push(`  renderer: ${renderer}`);
  l.push('  ethernets:', `    ${nic}:`);
  if (s.assignment !== 'static') {
    l.push('      dhcp4: true');
  } else {
    l.push('      dhcp4: false', `      addresses: [${s.ip}/${s.prefix}]`);
    if (s.gateway) l.push('      routes:', '        - to: default', `          via: ${s.gateway}`);
    if (s.dns.length > 0 || s.domain) {
      l.push('      nameservers:');
      if (s.dns.length > 0) l.push(`        addresses: [${s.dns.join(', ')}]`);
      if (s.domain) l.push(`        search: [${s.domain}]`);
    }
  }
  return l.join('\n') + '\n';
}

/**
 * Files with an `ethernets:` section are renamed to *.si-disabled (netplan reads only *.yaml), since
 * they name the golden client's NIC or MAC; the first `renderer:` seen is kept for the new file.
 */
export function planNetplan(view: TargetView, nic: string, s: NetSettings): FileChange[] {
  const changes: FileChange[] = [];
  let renderer: string | undefined;
  for (const f of view.list('/etc/netplan').filter((n) => /\.ya?ml$/.test(n))) {
    const path = `/etc/netplan/${f}`;
    if (path === NETPLAN_FILE) continue;
    const text = view.read(path) ?? '';
    renderer ??= /^\s{2}renderer:\s*(networkd|NetworkManager)\s*$/m.exec(text)?.[1];
    if (/^\s*ethernets:/m.test(text)) changes.push({ kind: 'rename', path, to: `${path}.si-disabled` });
  }
  changes.push({ kind: 'write', path: NETPLAN_FILE, content: renderNetplan(nic, s, renderer), mode: 0o600 });
  return changes;
}
