// Detects how the installed system configures its network, from its files alone.

import type { TargetView } from './target-view.js';
import { findProgram } from './target-view.js';

export type NetStyle = 'netplan' | 'networkmanager' | 'ifcfg' | 'networkd' | 'ifupdown';

/** Physical Ethernet names as a golden client had them (kernel, predictable, biosdevname) and the globs that match them. */
export const PHYSICAL_ETHERNET = /^(eth\d+|en[A-Za-z0-9]+|em\d+|p\d+p\d+\S*|e\*|en\*|eth\*)$/;

/** The styles with configuration present, each with the file that shows it. */
export function listNetStyles(view: TargetView): Array<{ style: NetStyle; evidence: string }> {
  const found: Array<{ style: NetStyle; evidence: string }> = [];
  const netplan = view.list('/etc/netplan').find((n) => /\.ya?ml$/.test(n));
  if (netplan) found.push({ style: 'netplan', evidence: `/etc/netplan/${netplan}` });
  const nm = view.list('/etc/NetworkManager/system-connections').find((n) => /\.nmconnection$/.test(n) || !n.includes('.'));
  if (nm) found.push({ style: 'networkmanager', evidence: `/etc/NetworkManager/system-connections/${nm}` });
  const ifcfg = view.list('/etc/sysconfig/network-scripts').find((n) => n.startsWith('ifcfg-') && n !== 'ifcfg-lo');
  if (ifcfg) found.push({ style: 'ifcfg', evidence: `/etc/sysconfig/network-scripts/${ifcfg}` });
  const networkd = view.list('/etc/systemd/network').find((n) => n.endsWith('.network'));
  if (networkd) found.push({ style: 'networkd', evidence: `/etc/systemd/network/${networkd}` });
  const ifaces = view.read('/etc/network/interfaces') ?? '';
  if (/^\s*iface\s+(?!lo\s)\S+/m.test(ifaces) || view.list('/etc/network/interfaces.d').length > 0) found.push({ style: 'ifupdown', evidence: '/etc/network/interfaces' });
  return found;
}

/**
 * The one style to write. Configuration present wins, in the order netplan (it generates
 * networkd or NetworkManager configuration, so it is the layer the admin edits),
 * NetworkManager keyfiles, RHEL ifcfg, systemd-networkd, ifupdown. With none present, the
 * installed software decides: NetworkManager, ifupdown (ifup), RHEL (/etc/sysconfig),
 * systemd-networkd; undefined when the image has none of them.
 */
export function detectNetStyle(view: TargetView): { style: NetStyle; evidence: string } | undefined {
  const present = listNetStyles(view);
  if (present.length > 0) return present[0];
  if (findProgram(view, 'netplan')) return { style: 'netplan', evidence: 'netplan installed' };
  if (findProgram(view, 'NetworkManager')) return { style: 'networkmanager', evidence: 'NetworkManager installed' };
  if (findProgram(view, 'ifup')) return { style: 'ifupdown', evidence: 'ifup installed' };
  if (view.exists('/etc/sysconfig/network-scripts') || view.exists('/etc/redhat-release')) return { style: 'ifcfg', evidence: 'RHEL layout' };
  if (['/lib/systemd/systemd-networkd', '/usr/lib/systemd/systemd-networkd'].some((p) => view.exists(p))) return { style: 'networkd', evidence: 'systemd-networkd installed' };
  return undefined;
}
