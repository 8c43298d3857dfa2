// systemd .link files that give the installed system's NICs the names the install gave them by MAC (IFNAMES).

import type { FileChange } from './file-changes.js';
import type { StyleChanges } from './net-layout.js';
import type { TargetView } from './target-view.js';

const DIR = '/etc/systemd/network';

/** Our file for one name: 10- sorts before the image's 99-default.link (and most hand-written ones), the first match wins. */
export const linkFilePath = (name: string) => `${DIR}/10-systemimager-${name}.link`;

/**
 * Why the image's udev would not apply a .link file, or undefined when it would: udev reads them only through its
 * net_setup_link rule (80-net-setup-link.rules, systemd's udev; eudev and pre-209 udev have none), and not when the
 * image masks that rule. net.ifnames=0 and a masked 99-default.link turn off the name policy only: Name= still applies.
 */
export function whyNoLinkFiles(view: TargetView): string | undefined {
  const masked = '/etc/udev/rules.d/80-net-setup-link.rules';
  if (view.link(masked) === '/dev/null') return `${masked} is masked`;
  const rule = ['/lib/udev/rules.d/80-net-setup-link.rules', '/usr/lib/udev/rules.d/80-net-setup-link.rules'].some((p) => view.exists(p));
  return rule ? undefined : 'the image has no udev net_setup_link rule (no systemd udev)';
}

/**
 * The .link file naming the NIC with this MAC. MACAddress= matches the current address, which a VLAN on the NIC (and a
 * bond's other slaves) share with it; PermanentMACAddress= (systemd 245 and later) limits it to the NIC itself. Older
 * udev ignores that key with a log line and matches on MACAddress= alone: never a file without a match.
 */
export function renderLinkFile(name: string, mac: string): string {
  return ['# written by si-agent (SystemImager): the name the install gave this NIC (IFNAMES)', '[Match]', `MACAddress=${mac}`, `PermanentMACAddress=${mac}`, '', '[Link]', `Name=${name}`].join('\n') + '\n';
}

/** The MAC addresses a .link file matches on (MACAddress= or PermanentMACAddress= in its [Match]), lower case. */
function matchedMacs(text: string): string[] {
  const match = /\[Match\]([^[]*)/i.exec(text)?.[1] ?? '';
  return [...match.matchAll(/^\s*(?:Permanent)?MACAddress\s*=\s*(.+)$/gim)].flatMap((m) => m[1]!.trim().toLowerCase().split(/\s+/));
}

/**
 * Changes and notes for IFNAMES: one .link file per name where the image's udev reads them (another .link of the image
 * for one of these MACs is removed: it would name the NIC otherwise), a note where it does not; a note for each name in
 * the kernel's eth<N> namespace. ifcfgNames: the image's ifcfg files name the NICs themselves (HWADDR=, initscripts).
 */
export function planLinkFiles(view: TargetView, ifnames: readonly { name: string; mac: string }[], ifcfgNames = false): StyleChanges {
  if (ifnames.length === 0) return { changes: [], notes: [] };
  const notes: string[] = [];
  const list = ifnames.map((r) => `${r.name}=${r.mac}`).join(' ');
  for (const r of ifnames.filter((x) => /^eth\d+$/.test(x.name))) {
    notes.push(`IFNAMES names ${r.mac} ${r.name}, in the kernel's own eth<N> namespace: at boot the kernel may already have given ${r.name} to another NIC, and udev then cannot rename this one (a name such as lan0 avoids that); written as asked`);
  }
  const why = whyNoLinkFiles(view);
  if (why) {
    const rest = ifcfgNames ? `the ifcfg files' HWADDR= names them only where the image's initscripts rename by it (60-net.rules)` : `the NICs get the names the image's own rules give them, and its network configuration (written for ${ifnames.map((r) => r.name).join(', ')}) does not apply`;
    notes.push(`${why}: no systemd .link file can name the NICs as IFNAMES did (${list}); ${rest}`);
    return { changes: [], notes };
  }
  const macs = new Set(ifnames.map((r) => r.mac));
  const ours = new Map(ifnames.map((r) => [linkFilePath(r.name), renderLinkFile(r.name, r.mac)]));
  const changes: FileChange[] = [];
  for (const f of view.list(DIR).filter((n) => n.endsWith('.link'))) {
    const path = `${DIR}/${f}`;
    if (!ours.has(path) && matchedMacs(view.read(path) ?? '').some((m) => macs.has(m))) changes.push({ kind: 'remove', path });
  }
  for (const [path, content] of ours) changes.push({ kind: 'write', path, content });
  return { changes, notes };
}
