// The userspace VLAN switch of the boot tests, started in a namespace the test made (vlan-switch.ts says why it is a
// process and not the host kernel): guest trunk ports for QEMU's `-netdev dgram` NICs, and the server's access port, a
// tap in the namespace whose frames socat carries to and from the switch, one frame per datagram, holding the server's
// addresses.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundleEntry, waitFor, type Lab } from '../system/lib-net/netns.ts';
import type { QemuBoot } from './qemu.ts';
import type { Counters, SwitchConfig } from './vlan-switch.ts';

/** One guest NIC on a trunk port: QEMU's netdev id (the switch's port name), MAC, QEMU's and the switch's UDP ports. */
export interface TrunkNic {
  id: string;
  mac: string;
  qemu: number;
  sw: number;
}

export interface VlanSwitch {
  /** The counters as the switch last wrote them. */
  counters(): Counters;
  /** QEMU's dgram NICs for these trunk ports (in PCI order: eth0, eth1, ...). */
  dgram(nics: TrunkNic[]): NonNullable<QemuBoot['dgram']>;
  countersFile: string;
}

const ipNs = (ns: string, args: string[]) => execFileSync('ip', ['-n', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

/**
 * Starts the switch for `vlan` with the guests' trunk ports, and the server's tap `tap` with `cidrs` (IPv4 and/or IPv6)
 * on the access port; with lacp, an LACP-only switch (vlan-switch.ts). The lab's cleanup stops both (the tap goes with
 * socat).
 */
export async function startVlanSwitch(
  lab: Lab,
  ns: string,
  o: { vlan: number; guests: TrunkNic[]; server: { sw: number; socat: number }; tap: string; cidrs: string[]; lacp?: boolean },
): Promise<VlanSwitch> {
  const countersFile = join(lab.dir, 'switch-counters.json');
  const cfg: SwitchConfig = {
    vlan: o.vlan,
    guests: o.guests.map((n) => ({ name: n.id, listen: n.sw, peer: n.qemu })),
    server: { listen: o.server.sw, peer: o.server.socat },
    countersFile,
    lacp: o.lacp,
  };
  const bundle = await bundleEntry(resolve(import.meta.dirname, 'vlan-switch-entry.ts'), lab.dir);
  lab.daemon(ns, 'switch', [process.execPath, bundle, JSON.stringify(cfg)]);
  await waitFor(() => /listening/.test(lab.log('switch')), 10_000, `the VLAN switch in ${ns}: ${lab.log('switch')}`);
  lab.daemon(ns, 'socat', ['socat', '-b', '65536', `TUN,tun-type=tap,tun-name=${o.tap},iff-up,iff-no-pi`, `UDP-DATAGRAM:127.0.0.1:${o.server.sw},bind=127.0.0.1:${o.server.socat}`]);
  await waitFor(() => ipNs(ns, ['-o', 'link', 'show']).includes(`${o.tap}:`), 10_000, `socat's tap in ${ns}: ${lab.log('socat')}`);
  for (const c of o.cidrs) ipNs(ns, c.includes(':') ? ['addr', 'add', c, 'dev', o.tap, 'nodad'] : ['addr', 'add', c, 'brd', '+', 'dev', o.tap]);
  ipNs(ns, ['link', 'set', o.tap, 'up']);
  return {
    countersFile,
    counters: () => JSON.parse(readFileSync(countersFile, 'utf8')) as Counters,
    dgram: (nics) => nics.map((n) => ({ id: n.id, mac: n.mac, localPort: n.qemu, remotePort: n.sw })),
  };
}
