// Boot tier (needs root, qemu-system-x86_64, ip netns, /dev/net/tun, socat, dnsmasq, rsync; TCG, no KVM): an 802.3ad
// (LACP) bond of two virtio NICs against an LACP-only switch, VLAN 42 tagged on the bond, DHCP on the VLAN.
//
// The switch is the userspace one of boot-vlan-bond (vlan-switch.ts: this host's kernel has no bonding, 8021q or
// act_vlan, so nothing in it can be the bond's partner or tag frames) in its LACP mode: it answers each port's
// LACPDUs as the partner of the guest's bond (lacp.ts), forwards a port's data only once the guest says that port is
// in sync, collecting and distributing, and sends to the guest on one aggregated port. The kernel command line asks,
// in dracut's words, for bond0 over eth0 and eth1 (802.3ad, miimon 100, lacp_rate fast), bond0.42 on it and DHCP on
// bond0.42. The test checks that both ports aggregated with the switch, that the lease and the image came through
// the aggregation tagged 42, and that the agent says which partner its bond aggregated with.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { canRunNetTests, createLab, type Lab } from '../system/lib-net/netns.ts';
import { startDnsmasq } from '../system/lib-net/servers.ts';
import { buildTestPackage, canBoot, removeTestDir } from './package-fixture.ts';
import { blankDisk, DiskReader, expectFixtureInstalled, nameLeasesNode001, startNsRsyncd } from './tap-boot.ts';
import { bootQemu, tailOf, type QemuOutcome } from './qemu.ts';
import { STATE } from './lacp.ts';
import { startVlanSwitch, type VlanSwitch } from './vlan-lab.ts';

const NET = '10.215.0';
const SERVER = `${NET}.1`;
const TAP = 'silacp0';
const VLAN = 42;
// The guest's NICs in PCI order (eth0, eth1): netdev id, MAC, QEMU's port, the switch's port (namespace loopback).
const NICS = [
  { id: 'l0', mac: '52:54:00:5b:15:01', qemu: 41101, sw: 40101 },
  { id: 'l1', mac: '52:54:00:5b:15:02', qemu: 41102, sw: 40102 },
];
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Why this test cannot run here, or null. */
function skipReason(): string | null {
  if (!canBoot()) return 'needs root and qemu-system-x86_64';
  if (!canRunNetTests()) return 'needs ip netns';
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun for the tap device';
  for (const t of ['/usr/sbin/dnsmasq', '/usr/bin/rsync', '/usr/bin/socat']) if (!existsSync(t)) return `needs ${t}`;
  return null;
}
const reason = skipReason();
if (reason) console.warn(`boot-bond skipped: ${reason}`);

describe.skipIf(reason !== null)('boot with an 802.3ad bond on an LACP-only switch, VLAN 42 on the bond, DHCP on the VLAN', () => {
  let dir: string | undefined;
  let pkg: PackageResult;
  let lab: Lab | undefined;
  let server: ImageServerInfo;
  let ns = '';
  let sw: VlanSwitch;
  const reader = new DiskReader();

  beforeAll(async () => {
    ({ dir, pkg } = await buildTestPackage('console=ttyS0 panic=-1', false));
    lab = createLab('boot-lacp');
    server = await makeImageServer(join(lab.dir, 'server'));
    nameLeasesNode001(server, NET);
    ns = lab.ns('lacp');
    sw = await startVlanSwitch(lab, ns, { vlan: VLAN, guests: NICS, server: { sw: 40110, socat: 41110 }, tap: TAP, cidrs: [`${SERVER}/24`], lacp: true });
    await startDnsmasq(lab, ns, 'dnsmasq', TAP, { net: NET }, [`140,${SERVER}`, '144,no']);
    await startNsRsyncd(lab, ns, server, SERVER);
  }, 300_000);

  afterAll(async () => {
    reader.release();
    await lab?.cleanup(); // kills the switch, socat (its tap goes with it), dnsmasq and rsyncd; deletes the namespace
    removeTestDir(dir);
  });

  it('aggregates both NICs with the switch, leases on bond0.42 through the aggregation, installs, powers off', async () => {
    const d = dir!;
    const disk = blankDisk(d);
    const r: QemuOutcome = await bootQemu({
      workDir: d,
      kernel: join(pkg.dir, 'kernel'),
      initrd: join(pkg.dir, 'initrd.img'),
      append: `console=ttyS0 panic=-1 POST_ACTION=shutdown bond=bond0:eth0,eth1:mode=802.3ad,miimon=100,lacp_rate=fast vlan=bond0.${VLAN}:bond0 ip=bond0.${VLAN}:dhcp`,
      disks: [disk],
      netns: ns,
      dgram: sw.dgram(NICS),
      marks: { lease: /DHCP: ACK on bond0\.42/ },
      until: /reboot: Power down|si-agent shell #|Kernel panic/,
      timeoutMs: 540_000,
    });
    const end = sw.counters();
    const why = `serial log:\n${tailOf(r.log, 80)}\n--- dnsmasq ---\n${tailOf(lab!.log('dnsmasq'), 30)}\n--- switch ---\n${JSON.stringify(end)}\n${lab!.log('switch')}`;
    expect(r.log, why).toMatch(/reboot: Power down/);
    console.log(`boot with an LACP bond: /init after ${r.initSeconds} s, lease after ${r.marks.lease} s, powered off after ${r.seconds} s; switch: ${JSON.stringify(end)}`);

    // The guest's side: the bond in 802.3ad over both NICs, the VLAN on it, and the agent's word on the aggregation.
    expect(r.log, why).toMatch(/bond0: \(slave eth0\): Enslaving/);
    expect(r.log, why).toMatch(/bond0: \(slave eth1\): Enslaving/);
    expect(r.log, why).toMatch(/links: bond0\.42 \(VLAN 42 on bond0 \(802\.3ad over eth0, eth1\)\)/);
    expect(r.log, why).toMatch(/bond0: 802\.3ad aggregator \d+ with partner 02:00:00:00:42:00 \(key 42\), ports eth0, eth1/);
    const ack = new RegExp(`DHCP: ACK on bond0\\.42: (${esc(NET)}\\.1\\d\\d)/24 from server ${esc(SERVER)}`).exec(r.log);
    expect(ack, why).not.toBeNull();
    const addr = ack![1]!;
    const rlog = readFileSync(server.logFile, 'utf8');
    expect(rlog, rlog).toMatch(new RegExp(`rsync on ${esc(server.imageName)}/ from \\S+ \\(${esc(addr)}\\)`));

    // The switch's side: both ports spoke LACP with one system and key and reached sync, collecting and distributing;
    // all the data it forwarded came in tagged 42 on an aggregated port.
    const ports = NICS.map((n) => end.ports[n.id]!);
    const want = STATE.activity | STATE.aggregation | STATE.sync | STATE.collecting | STATE.distributing;
    for (const p of ports) {
      expect(p.lacp!.pdus, why).toBeGreaterThan(2);
      expect(p.lacp!.state & want, why).toBe(want);
      expect(p.lacp!.aggregatedAtMs, why).not.toBeNull();
      expect(p.untagged['0x0800'] ?? 0, why).toBe(0);
      expect(p.otherVlan, why).toEqual({});
    }
    expect(ports[0]!.lacp!.system).toBe(ports[1]!.lacp!.system);
    expect(ports[0]!.lacp!.key).toBe(ports[1]!.lacp!.key);
    expect(end.toServer, why).toBe(ports.reduce((s, p) => s + p.tagged, 0));
    expect(end.toServerTypes['0x0800'] ?? 0, why).toBeGreaterThan(1000);

    expectFixtureInstalled(reader.mount(disk, d), server);
  }, 600_000);
});
