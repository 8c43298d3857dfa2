// The installer's link stack read from the parameters (renamed NICs, a bond, a VLAN, the MTU), with every cross-parameter problem.

import type { Problem } from '../errors.js';
import type { Params, Tagged } from './types.js';
import { checkNetKind, isMac, parseBondOpts, parseIfnames, parseLinkList, vlanNameParts } from './net-values.js';

export interface NetStack {
  renames: { name: string; mac: string }[];
  bond?: { name: string; slaves: string[]; opts: [string, string][] };
  vlan?: { name: string; parent: string; id: number };
  mtu?: number;
  /** The interface DHCP or the static address runs on: the VLAN, else the bond; undefined: DEVICE as before. */
  top?: string;
}

const NET_NAMES = ['MTU', 'VLAN_ID', 'VLAN_PARENT', 'VLAN_NAME', 'BOND_NAME', 'BOND_SLAVES', 'BOND_OPTS', 'IFNAMES'];

/** Reads the stack the parameters ask for; undefined stack when they ask for none (or a value is bad: see problems). */
export function readNetStack(params: Params): { stack?: NetStack; problems: Problem[] } {
  const problems: Problem[] = [];
  const get = (k: string): Tagged | undefined => {
    const t = params.get(k);
    return t && t.value.trim() !== '' ? t : undefined;
  };
  const bad = (k: string, t: Tagged, message: string) => problems.push({ source: t.source, key: k, message: `${JSON.stringify(t.value)} ${message}` });
  // A value of the wrong kind is reported by validateParams; nothing is built on it.
  if (NET_NAMES.some((k) => get(k) && checkNetKind(kindOf(k), get(k)!.value) !== undefined)) return { problems };
  const [mtu, vlanId, vlanParent, vlanName, bondName, slaves, bondOpts, ifnames, device] = [...NET_NAMES, 'DEVICE'].map(get);
  const stack: NetStack = { renames: ifnames ? parseIfnames(ifnames.value)! : [] };
  if (mtu) stack.mtu = Number(mtu.value);
  if (slaves) {
    const opts = bondOpts ? (parseBondOpts(bondOpts.value) as { opts: [string, string][] }).opts : [];
    stack.bond = { name: bondName?.value ?? 'bond0', slaves: parseLinkList(slaves.value)!, opts };
    if (device && stack.bond.slaves.includes(device.value)) bad('DEVICE', device, `is a slave of ${stack.bond.name}: install over the bond (DEVICE=${stack.bond.name}) or leave DEVICE out`);
  } else {
    if (bondName) bad('BOND_NAME', bondName, 'needs BOND_SLAVES (the NICs to bond)');
    if (bondOpts) bad('BOND_OPTS', bondOpts, 'needs BOND_SLAVES (the NICs to bond)');
  }
  if (vlanId) {
    // DEVICE may already name the VLAN (eth0.42, bond0.42, vlan42): its parent and name then come from it.
    const dv = device ? vlanNameParts(device.value) : undefined;
    const devIsVlan = dv !== undefined && dv.id === Number(vlanId.value);
    const parent = vlanParent?.value ?? stack.bond?.name ?? (devIsVlan ? dv.parent : device?.value);
    if (parent === undefined) bad('VLAN_ID', vlanId, 'needs a link to carry it: VLAN_PARENT, BOND_SLAVES or DEVICE');
    else {
      const name = vlanName?.value ?? (devIsVlan ? device!.value : `${isMac(parent) ? 'vlan' : parent + '.'}${Number(vlanId.value)}`);
      if (name.length > 15) bad('VLAN_ID', vlanId, `makes the VLAN name ${name} longer than 15 characters: set VLAN_NAME`);
      // Without VLAN_PARENT the parent is the bond itself: only an explicit one can be a slave.
      if (vlanParent && stack.bond?.slaves.includes(parent)) bad('VLAN_PARENT', vlanParent, `is a slave of ${stack.bond.name}: a VLAN goes on the bond`);
      stack.vlan = { name, parent, id: Number(vlanId.value) };
      stack.top = name;
    }
  } else {
    if (vlanParent) bad('VLAN_PARENT', vlanParent, 'needs VLAN_ID');
    if (vlanName) bad('VLAN_NAME', vlanName, 'needs VLAN_ID');
  }
  stack.top ??= stack.bond?.name;
  // DEVICE may name the top of the stack or a link under it (the VLAN's parent, the bond); anything else contradicts it.
  const under = [stack.vlan?.parent, stack.bond?.name].filter((x): x is string => x !== undefined);
  if (device && stack.top && device.value !== stack.top && !under.includes(device.value) && !problems.some((p) => p.key === 'DEVICE')) {
    bad('DEVICE', device, `is not the install interface the network parameters make (${stack.top})`);
  }
  const asked = stack.bond || stack.vlan || stack.mtu !== undefined || stack.renames.length > 0;
  return asked && problems.length === 0 ? { stack, problems } : { problems };
}

/** The parameter kinds (net-names.ts), kept here so the check needs no table lookup. */
function kindOf(name: string): string {
  return ({ MTU: 'mtu', VLAN_ID: 'vlanid', VLAN_PARENT: 'link', VLAN_NAME: 'ifname', BOND_NAME: 'ifname', BOND_SLAVES: 'links', BOND_OPTS: 'bondopts', IFNAMES: 'ifnames' } as Record<string, string>)[name]!;
}
