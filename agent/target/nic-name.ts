// The name the installed system's udev will give the install NIC (systemd's predictable names), decided purely from facts.

import type { TargetView } from './target-view.js';
import type { NicFacts } from './nic-facts.js';

/** How the installed system names NICs. */
export type NamingPolicy =
  | { kind: 'predictable' }
  | { kind: 'kernel'; why: string }
  | { kind: 'fixed'; name: string; why: string };

/**
 * Reads the image's naming policy: kernel names when net.ifnames=0 is on its GRUB command line,
 * when 80-net-setup-link.rules or 99-default.link is masked (-> /dev/null), or when it has no udev
 * at all; a fixed name when one of its /etc/systemd/network/*.link files matches the NIC's MAC.
 */
export function readNamingPolicy(view: TargetView, mac?: string): NamingPolicy {
  if (mac) {
    for (const f of view.list('/etc/systemd/network').filter((n) => n.endsWith('.link'))) {
      const text = view.read(`/etc/systemd/network/${f}`) ?? '';
      const macs = /^\s*MACAddress\s*=\s*(.+)$/im.exec(text)?.[1]?.toLowerCase().split(/\s+/) ?? [];
      const name = /^\s*Name\s*=\s*([A-Za-z0-9_.-]{1,15})\s*$/m.exec(text.slice(text.search(/\[Link\]/i) + 1))?.[1];
      if (name && macs.includes(mac.toLowerCase())) return { kind: 'fixed', name, why: `/etc/systemd/network/${f}` };
    }
  }
  const grub = view.read('/etc/default/grub') ?? '';
  if (/^\s*GRUB_CMDLINE_LINUX(_DEFAULT)?=.*\bnet\.ifnames=0\b/m.test(grub)) return { kind: 'kernel', why: 'net.ifnames=0 in /etc/default/grub' };
  for (const p of ['/etc/udev/rules.d/80-net-setup-link.rules', '/etc/systemd/network/99-default.link']) {
    if (view.link(p) === '/dev/null') return { kind: 'kernel', why: `${p} is masked` };
  }
  const hasUdev = ['/lib/udev/rules.d/80-net-setup-link.rules', '/usr/lib/udev/rules.d/80-net-setup-link.rules'].some((p) => view.exists(p));
  if (!hasUdev) return { kind: 'kernel', why: 'the image has no udev net_setup_link rule' };
  return { kind: 'predictable' };
}

/**
 * systemd's default NamePolicy (kernel database onboard slot path), for Ethernet ("en"):
 * onboard eno<acpi_index|smbios index>, then hotplug slot ens<slot>, then PCI path
 * [P<domain>]p<bus>s<slot>; slot and path names get f<func> for a multi-function device and
 * d<dev_port> when dev_port > 0. Not covered (the kernel name is kept): USB, platform/BCMA/CCW
 * devices, biosdevname, firmware_node/sun slots, and names from hwdb (ID_NET_NAME_FROM_DATABASE).
 */
export function predictNicName(facts: NicFacts, policy: NamingPolicy): { name: string; why: string } {
  if (policy.kind === 'fixed') return { name: policy.name, why: policy.why };
  if (policy.kind === 'kernel') return { name: facts.kernelName, why: policy.why };
  // A name already given by udev in the install environment (not ethN) is what udev will give again.
  if (!/^eth\d+$/.test(facts.kernelName)) return { name: facts.kernelName, why: 'not a kernel name (already renamed)' };
  const { pci } = facts;
  if (!pci || facts.usb) return { name: facts.kernelName, why: facts.usb ? 'USB NIC: not covered' : 'not a PCI NIC' };
  const port = facts.devPort && facts.devPort > 0 ? `d${facts.devPort}` : '';
  const fn = pci.func > 0 || facts.multiFunction ? `f${pci.func}` : '';
  const onboard = facts.acpiIndex ?? facts.smbiosIndex;
  const candidates: Array<[string, string]> = [];
  if (onboard !== undefined && onboard > 0 && onboard <= 16383) candidates.push([`eno${onboard}${port}`, 'onboard index']);
  if (facts.hotplugSlot !== undefined) candidates.push([`en${pci.domain > 0 ? `P${pci.domain}` : ''}s${facts.hotplugSlot}${fn}${port}`, `hotplug slot ${facts.hotplugSlot}`]);
  candidates.push([`en${pci.domain > 0 ? `P${pci.domain}` : ''}p${pci.bus}s${pci.slot}${fn}${port}`, 'PCI path']);
  const pick = candidates.find(([n]) => n.length <= 15);
  return pick ? { name: pick[0], why: pick[1] } : { name: facts.kernelName, why: 'predictable name too long' };
}
