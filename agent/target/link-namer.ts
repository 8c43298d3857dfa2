// Maps an install link (a NIC name or MAC in the installer) to the name the installed system's udev will give it.

import { readLinkTable } from '../net/link-stack.js';
import { isMac } from '../params/net-values.js';
import { readNicFacts } from './nic-facts.js';
import { predictNicName, readNamingPolicy } from './nic-name.js';
import type { TargetView } from './target-view.js';

/** A NIC's kernel name in the installer and its name in the installed system, with why (and its MAC when known); undefined: no link has that MAC. */
export type LinkNamer = (link: string) => { kernel: string; name: string; why: string; mac?: string } | undefined;

/** A namer for planning without /sys: names stay as they are, MACs are unknown. */
export const keepNames: LinkNamer = (link) => (isMac(link) ? undefined : { kernel: link, name: link, why: 'name kept' });

/** A namer from a fixed table (kernel name or MAC -> installed name), for tests and plans. */
export function tableNamer(table: Record<string, string>, macs: Record<string, string> = {}): LinkNamer {
  return (link) => {
    const kernel = isMac(link) ? macs[link.toLowerCase()] : link;
    if (kernel === undefined) return undefined;
    return { kernel, name: table[kernel] ?? kernel, why: table[kernel] ? 'table' : 'name kept' };
  };
}

/**
 * The namer of the install environment: a MAC is looked up in sysRoot/class/net, then the NIC's facts (PCI address,
 * onboard index, slot) and the image's naming policy decide its name, as udev's net_id will at the first boot.
 */
export function sysLinkNamer(sysRoot: string, view: TargetView): LinkNamer {
  return (link) => {
    let kernel = link;
    if (isMac(link)) {
      let table: Map<string, string>;
      try {
        table = readLinkTable(`${sysRoot}/class/net`);
      } catch {
        return undefined;
      }
      const hit = [...table].find(([, mac]) => mac === link.toLowerCase());
      if (!hit) return undefined;
      kernel = hit[0];
    }
    const facts = readNicFacts(sysRoot, kernel);
    return { kernel, ...predictNicName(facts, readNamingPolicy(view, facts.mac)), ...(facts.mac ? { mac: facts.mac } : {}) };
  };
}
