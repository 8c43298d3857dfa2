// All file changes for the installed system's identity and network, in the style the image uses (pure).

import type { FileChange } from './file-changes.js';
import type { NetSettings } from './net-settings.js';
import { detectNetStyle, type NetStyle } from './net-style.js';
import { planHostnameChanges, planResolvConf } from './render-hostname.js';
import { planIfcfg } from './render-ifcfg.js';
import { planIfupdown } from './render-ifupdown.js';
import { planNetplan } from './render-netplan.js';
import { planNetworkd } from './render-networkd.js';
import { planNetworkManager } from './render-nm.js';
import type { TargetView } from './target-view.js';

export interface NetworkPlan {
  style?: NetStyle;
  evidence?: string;
  changes: FileChange[];
  /** Things the operator should know (no style found, replicant...). */
  notes: string[];
}

/**
 * Plans hostname, NIC configuration and resolv.conf. replicant leaves all three as the image has
 * them (the image is meant to be an exact replica); dhcp and static rewrite them.
 */
export function planNetworkChanges(view: TargetView, nic: string | undefined, s: NetSettings, uuid: string): NetworkPlan {
  if (s.assignment === 'replicant') return { changes: [], notes: ['IP_ASSIGNMENT=replicant: host name and network configuration left as in the image'] };
  const changes = planHostnameChanges(view, s);
  const notes: string[] = [];
  if (!s.hostname) notes.push('no HOSTNAME: /etc/hostname left as in the image');
  const found = detectNetStyle(view);
  if (!found) return { changes, notes: [...notes, 'no network configuration style found in the image: NIC left unconfigured'] };
  if (!nic) return { style: found.style, evidence: found.evidence, changes, notes: [...notes, 'no install NIC known (DEVICE unset): NIC left unconfigured'] };
  changes.push(...planStyle(view, found.style, nic, s, uuid));
  changes.push(...planResolvConf(view, s));
  return { style: found.style, evidence: found.evidence, changes, notes };
}

/** The NIC's changes for one style. */
export function planStyle(view: TargetView, style: NetStyle, nic: string, s: NetSettings, uuid: string): FileChange[] {
  switch (style) {
    case 'ifupdown':
      return planIfupdown(view, nic, s);
    case 'netplan':
      return planNetplan(view, nic, s);
    case 'networkmanager':
      return planNetworkManager(view, nic, s, uuid);
    case 'networkd':
      return planNetworkd(view, nic, s);
    case 'ifcfg':
      return planIfcfg(view, nic, s);
  }
}
