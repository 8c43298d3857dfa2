// NetworkManager keyfiles: the golden client's Ethernet profiles removed, one profile for the install NIC.

import type { FileChange } from './file-changes.js';
import type { NetSettings } from './net-settings.js';
import type { TargetView } from './target-view.js';

const DIR = '/etc/NetworkManager/system-connections';

/** The keyfile for the NIC; uuid is given by the caller so rendering stays pure. */
export function renderNmKeyfile(nic: string, s: NetSettings, uuid: string): string {
  const l = ['# written by si-agent (SystemImager)', '[connection]', `id=${nic}`, `uuid=${uuid}`, 'type=ethernet', `interface-name=${nic}`, 'autoconnect=true', '', '[ethernet]', '', '[ipv4]'];
  if (s.assignment !== 'static') l.push('method=auto');
  else {
    l.push('method=manual', `address1=${s.ip}/${s.prefix}${s.gateway ? `,${s.gateway}` : ''}`);
    if (s.dns.length > 0) l.push(`dns=${s.dns.join(';')};`);
    if (s.domain) l.push(`dns-search=${s.domain};`);
  }
  l.push('', '[ipv6]', 'method=auto', '');
  return l.join('\n');
}

/** True when a keyfile is a wired profile (type=ethernet or 802-3-ethernet). */
export function isEthernetKeyfile(text: string): boolean {
  return /^\s*type\s*=\s*(ethernet|802-3-ethernet)\s*$/im.test(text);
}

/** Changes for NetworkManager: wired keyfiles removed (they carry the golden client's MAC or name), ours written 0600. */
export function planNetworkManager(view: TargetView, nic: string, s: NetSettings, uuid: string): FileChange[] {
  const changes: FileChange[] = [];
  const ours = `${DIR}/${nic}.nmconnection`;
  for (const f of view.list(DIR)) {
    const path = `${DIR}/${f}`;
    if (path !== ours && isEthernetKeyfile(view.read(path) ?? '')) changes.push({ kind: 'remove', path });
  }
  changes.push({ kind: 'write', path: ours, content: renderNmKeyfile(nic, s, uuid), mode: 0o600 });
  return changes;
}
