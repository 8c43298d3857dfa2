// RHEL network-scripts: ifcfg-* files of the golden client's Ethernet removed, ifcfg-<nic> written.

import type { FileChange } from './file-changes.js';
import type { NetSettings } from './net-settings.js';
import { PHYSICAL_ETHERNET } from './net-style.js';
import type { TargetView } from './target-view.js';

const DIR = '/etc/sysconfig/network-scripts';

/** The ifcfg file for the NIC (no HWADDR: the name is what binds it). */
export function renderIfcfg(nic: string, s: NetSettings): string {
  const l = ['# written by si-agent (SystemImager)', `DEVICE=${nic}`, `NAME=${nic}`, 'TYPE=Ethernet', 'ONBOOT=yes'];
  if (s.assignment !== 'static') l.push('BOOTPROTO=dhcp');
  else {
    l.push('BOOTPROTO=none', `IPADDR=${s.ip}`, `PREFIX=${s.prefix}`);
    if (s.gateway) l.push(`GATEWAY=${s.gateway}`, 'DEFROUTE=yes');
    s.dns.forEach((d, i) => l.push(`DNS${i + 1}=${d}`));
    if (s.domain) l.push(`DOMAIN=${s.domain}`);
  }
  return l.join('\n') + '\n';
}

/** True when an ifcfg file describes a physical Ethernet interface. */
export function isEthernetIfcfg(name: string, text: string): boolean {
  if (/^\s*TYPE\s*=\s*"?Ethernet"?\s*$/im.test(text)) return true;
  const device = /^\s*DEVICE\s*=\s*"?([^"\s]+)"?/m.exec(text)?.[1] ?? name.replace(/^ifcfg-/, '');
  return PHYSICAL_ETHERNET.test(device) && !/^\s*TYPE\s*=/im.test(text);
}

/** Changes for ifcfg: old Ethernet files removed, ifcfg-<nic> written. */
export function planIfcfg(view: TargetView, nic: string, s: NetSettings): FileChange[] {
  const changes: FileChange[] = [];
  const ours = `${DIR}/ifcfg-${nic}`;
  for (const f of view.list(DIR).filter((n) => n.startsWith('ifcfg-') && n !== 'ifcfg-lo')) {
    const path = `${DIR}/${f}`;
    if (path !== ours && isEthernetIfcfg(f, view.read(path) ?? '')) changes.push({ kind: 'remove', path });
  }
  changes.push({ kind: 'write', path: ours, content: renderIfcfg(nic, s) });
  return changes;
}
