// The link-stack cases of the installed system's network tests: parameters as the installer had them, one image per style.

import type { FileChange } from '../../../agent/target/file-changes.js';
import { tableNamer } from '../../../agent/target/link-namer.js';
import { resolveNetSettings } from '../../../agent/target/net-settings.js';
import type { NetStyle } from '../../../agent/target/net-style.js';
import { planNetworkChanges } from '../../../agent/target/plan-network.js';
import { memoryTargetView } from '../../../agent/target/target-view.js';
import { paramsOf } from './fixture-tree.js';

export const UUID = '9b1d3b8e-0000-4000-8000-000000000001';
/** eth0/eth1 in the installer are enp1s0/enp2s0 in the installed system; their MACs for slaves given by MAC. */
export const NAMER = tableNamer({ eth0: 'enp1s0', eth1: 'enp2s0' }, { '52:54:00:00:00:01': 'eth0', '52:54:00:00:00:02': 'eth1' });
export const RESOLV = 'nameserver 10.42.0.53\nnameserver fd42:77::53\n';

/** systemd's udev: the rule through which it applies .link files. */
export const UDEV = { '/usr/lib/udev/rules.d/80-net-setup-link.rules': 'IMPORT{builtin}="net_setup_link"\n' };

/** A minimal image of each style (the golden client's NIC config present, so the style is detected from it), systemd's udev in each, ifenslave in Debian's. */
export const IMAGES: Record<NetStyle, Record<string, string>> = {
  ifupdown: { ...UDEV, '/etc/network/interfaces': 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n', '/etc/network/if-pre-up.d/ifenslave': '#!/bin/sh\n' },
  networkmanager: { ...UDEV, '/etc/NetworkManager/system-connections/Wired connection 1.nmconnection': '[connection]\nid=Wired connection 1\ntype=ethernet\n' },
  networkd: { ...UDEV, '/etc/systemd/network/20-wired.network': '[Match]\nName=en*\n\n[Network]\nDHCP=yes\n', '/etc/systemd/network/25-bond0.netdev': '[NetDev]\nName=bond0\nKind=bond\n' },
  netplan: { ...UDEV, '/etc/netplan/50-cloud-init.yaml': 'network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    eth0:\n      dhcp4: true\n' },
  ifcfg: { ...UDEV, '/etc/sysconfig/network-scripts/ifcfg-eth0': 'DEVICE=eth0\nBOOTPROTO=dhcp\n', '/etc/sysconfig/network-scripts/ifcfg-bond0': 'DEVICE=bond0\nTYPE=Bond\n' },
};

export const BOND = { BOND_NAME: 'bond0', BOND_SLAVES: 'eth0,eth1' };
export const STATIC4 = { IPADDR: '10.42.0.7', NETMASK: '255.255.255.0', GATEWAY: '10.42.0.1' };
/** The cases of the brief: each a parameter set as the installer had it. */
export const CASES: Record<string, Record<string, string>> = {
  'bond-active-backup-dhcp': { ...BOND, BOND_OPTS: 'mode=active-backup,miimon=100,primary=eth0' },
  'bond-lacp-dhcp': { ...BOND, BOND_SLAVES: '52:54:00:00:00:01 52:54:00:00:00:02', BOND_OPTS: 'mode=802.3ad,miimon=100,lacp_rate=fast,xmit_hash_policy=layer3+4' },
  'vlan42-on-bond-static': { ...BOND, BOND_OPTS: 'mode=802.3ad,miimon=100,lacp_rate=fast', VLAN_ID: '42', ...STATIC4, HOSTNAME: 'node7', DOMAINNAME: 'lab.example' },
  'mtu9000-dhcp': { DEVICE: 'eth0', MTU: '9000' },
  'vlan42-on-nic-mtu9000-static': { DEVICE: 'eth1.42', VLAN_ID: '42', VLAN_PARENT: 'eth1', MTU: '9000', ...STATIC4 },
  'ipv6-static': { DEVICE: 'eth0', IPV4_ASSIGNMENT: 'off', IPV6_ASSIGNMENT: 'static', IPV6ADDR: 'fd42:77::10/64', IPV6_GATEWAY: 'fd42:77::1', DOMAINNAME: 'lab.example' },
  'ipv6-slaac-dual-stack': { DEVICE: 'eth0', IPV6_ASSIGNMENT: 'auto' },
  'ipv6-dhcp6-dual-stack-static4': { DEVICE: 'eth0', IPV6_ASSIGNMENT: 'dhcp6', ...STATIC4 },
  'ipv6-only-dhcp6-on-vlan-bond': { ...BOND, BOND_OPTS: 'mode=802.3ad,miimon=100', VLAN_ID: '42', MTU: '9000', IPV4_ASSIGNMENT: 'off', IPV6_ASSIGNMENT: 'dhcp6' },
  'ipv6-off-static4': { DEVICE: 'eth0', IPV6_ASSIGNMENT: 'off', ...STATIC4, DOMAINNAME: 'lab.example' },
  'ipv6-off-dhcp-on-vlan-bond': { ...BOND, BOND_OPTS: 'mode=802.3ad,miimon=100', VLAN_ID: '42', IPV6_ASSIGNMENT: 'off' },
};

/** IFNAMES: the install named its NICs by MAC (dracut ifname=lan0:52:54:00:aa:bb:01 ...). */
export const IFNAMES = { IFNAMES: 'lan0=52:54:00:aa:bb:01 lan1=52:54:00:aa:bb:02' };
/** Cases with NICs named by IFNAMES: every file names lan0/lan1, whatever the namer would predict. */
export const IFNAMES_CASES: Record<string, Record<string, string>> = {
  'ifnames-bond-vlan42-static': { ...IFNAMES, BOND_NAME: 'bond0', BOND_SLAVES: 'lan0,lan1', BOND_OPTS: 'mode=active-backup,miimon=100,primary=lan0', VLAN_ID: '42', ...STATIC4 },
  'ifnames-nic-by-mac-dhcp': { ...IFNAMES, DEVICE: '52:54:00:aa:bb:02', MTU: '9000' },
};

/** Every file change as text: `== write path (mode)` then the content; removals and renames one line each. */
export function show(changes: readonly FileChange[]): string {
  return changes
    .map((c) => (c.kind === 'write' ? `== write ${c.path}${c.mode ? ` (${c.mode.toString(8)})` : ''}\n${c.content}` : c.kind === 'rename' ? `== move ${c.path} -> ${c.to}\n` : `== ${c.kind} ${c.path}\n`))
    .join('');
}

/** Plans one case in one style's image (extra files added to the image, or removed with undefined). */
export function plan(values: Record<string, string>, style: NetStyle, extra: Record<string, string | undefined> = {}) {
  const s = resolveNetSettings(paramsOf(values), RESOLV, NAMER);
  const files = Object.fromEntries(Object.entries({ ...IMAGES[style], ...extra }).filter((e): e is [string, string] => e[1] !== undefined));
  return planNetworkChanges(memoryTargetView(files), s.nic, s, UUID);
}

