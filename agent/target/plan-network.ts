// All file changes for the installed system's identity and network, in the style the image uses (pure).

import type { FileChange } from './file-changes.js';
import { layoutLinks, type LinkLayout, type StyleChanges } from './net-layout.js';
import type { NetSettings } from './net-settings.js';
import { detectNetStyle, type NetStyle } from './net-style.js';
import { planHostnameChanges, planResolvConf } from './render-hostname.js';
import { planIfcfg } from './render-ifcfg.js';
import { planIfupdown } from './render-ifupdown.js';
import { planNetplan } from './render-netplan.js';
import { planNetworkd } from './render-networkd.js';
import { planLinkFiles } from './render-link-files.js';
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
 * Plans hostname, link configuration (the NIC, or the bond, its slaves and the VLAN, with MTU and IPv6) and
 * resolv.conf. replicant leaves all three as the image has them (the image is meant to be an exact replica); the other
 * assignments rewrite them.
 */
export function planNetworkChanges(view: TargetView, nic: string | undefined, s: NetSettings, uuid: string): NetworkPlan {
  if (s.assignment === 'replicant') return { changes: [], notes: ['IP_ASSIGNMENT=replicant: host name and network configuration left as in the image'] };
  const changes = planHostnameChanges(view, s);
  const notes: string[] = [];
  if (!s.hostname) notes.push('no HOSTNAME: /etc/hostname left as in the image');
  const found = detectNetStyle(view);
  // The names IFNAMES gave go into the image whatever its style: the NICs are named before any configuration applies.
  const named = planLinkFiles(view, s.ifnames, found?.style === 'ifcfg');
  changes.push(...named.changes);
  notes.push(...named.notes);
  if (!found) return { changes, notes: [...notes, 'no network configuration style found in the image: NIC left unconfigured'] };
  const layout = layoutLinks(s, nic);
  if (!layout) return { style: found.style, evidence: found.evidence, changes, notes: [...notes, 'no install NIC known (DEVICE unset): NIC left unconfigured'] };
  const styled = planStyle(view, found.style, layout, s, uuid);
  changes.push(...styled.changes);
  changes.push(...planResolvConf(view, s));
  return { style: found.style, evidence: found.evidence, changes, notes: [...notes, ...styled.notes] };
}

/** The install links' changes for one style, with notes (bonding options the style cannot carry). */
export function planStyle(view: TargetView, style: NetStyle, layout: LinkLayout, s: NetSettings, uuid: string): StyleChanges {
  switch (style) {
    case 'ifupdown':
      return planIfupdown(view, layout, s);
    case 'netplan':
      return planNetplan(view, layout, s);
    case 'networkmanager':
      return planNetworkManager(view, layout, s, uuid);
    case 'networkd':
      return planNetworkd(view, layout, s);
    case 'ifcfg':
      return planIfcfg(view, layout, s);
  }
}
