// The data-centre network parameters (issue 21): MTU, a tagged VLAN, a bond and NIC renames, in SPEC 2's table form.

import type { ParamSpec } from './param-spec.js';

/** The kinds of value only these parameters take (checked by net-validate.ts). */
export type { NetKind } from './param-spec.js';

const n = (name: string, kind: ParamSpec['kind'], alias: string, doc: string): ParamSpec => ({ name, kind, aliases: [alias], doc });

/**
 * The stack these describe, bottom to top: the NICs (renamed by IFNAMES), the bond BOND_NAME over BOND_SLAVES,
 * the VLAN VLAN_NAME with id VLAN_ID on VLAN_PARENT; DHCP or the static address runs on the top one.
 */
export const NET_PARAMS: readonly ParamSpec[] = [
  n('MTU', 'mtu', 'si.mtu', 'MTU of the install interface and every link under it (68-9216)'),
  n('VLAN_ID', 'vlanid', 'si.vlan-id', 'install over this tagged VLAN (1-4094) on VLAN_PARENT'),
  n('VLAN_PARENT', 'link', 'si.vlan-parent', 'link carrying the VLAN: a NIC name or MAC, or the bond (default: BOND_NAME when a bond is set, else DEVICE)'),
  n('VLAN_NAME', 'ifname', 'si.vlan-name', 'name of the VLAN interface (default: <parent>.<id>, e.g. bond0.42)'),
  n('BOND_NAME', 'ifname', 'si.bond', 'name of the bond (default: bond0 when BOND_SLAVES is set)'),
  n('BOND_SLAVES', 'links', 'si.bond-slaves', 'NICs to bond, by name or MAC, comma- or space-separated'),
  n('BOND_OPTS', 'bondopts', 'si.bond-opts', 'bonding options, k=v comma- or space-separated: mode=802.3ad,miimon=100,lacp_rate=fast (default mode balance-rr)'),
  n('IFNAMES', 'ifnames', 'si.ifnames', 'NIC names by MAC, name=mac space-separated (dracut ifname=): the links are renamed first'),
];
