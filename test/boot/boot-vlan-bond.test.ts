// Boot tier (needs root, qemu-system-x86_64, ip netns, /dev/net/tun, socat, dnsmasq, rsync; TCG, no KVM): VLAN 42
// tagged on an active-backup bond of two virtio NICs, and one NIC's link cut in the middle of the image copy.
//
// This host's kernel cannot tag (no 8021q, no act_vlan: `tc ... action vlan push` fails; its bridge refuses
// vlan_filtering), so the switch is a userspace one (vlan-switch.ts), run as its own process in a namespace the test
// makes: the guest's NICs are QEMU `-netdev dgram` ports on the namespace's loopback, trunk ports carrying VLAN 42
// tagged; the server side is a tap (socat TUN,tun-type=tap <-> UDP-DATAGRAM) in the same namespace, an access port on
// VLAN 42, holding the server address, dnsmasq and the fixture rsync daemon. Frames from the guest pass only when
// tagged 42 (tag popped); untagged and other-VLAN frames are dropped and counted; frames to the guest get tag 42 and go
// to both NICs, as a hub does. The kernel command line asks, in dracut's words, for bond0 over eth0 and eth1
// (active-backup, miimon 100), bond0.42 on it and DHCP on bond0.42. When the serial console shows the image copy
// under way, QMP's `set_link <netdev> off` takes the active NIC's link down (a tap going down is not seen by the guest:
// the virtio NIC keeps its carrier); the bond fails over to the other NIC and the install completes.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { canRunNetTests, createLab, type Lab } from '../system/lib-net/netns.ts';
import { startDnsmasq } from '../system/lib-net/servers.ts';
import { buildTestPackage, canBoot, removeTestDir } from './package-fixture.ts';
import { blankDisk, DiskReader, expectFixtureInstalled, nameLeasesNode001, startNsRsyncd } from './tap-boot.ts';
import { bootQemu, tailOf, type QemuOutcome } from './qemu.ts';
import { qmpCommands } from './qmp.ts';
import type { Counters } from './vlan-switch.ts';
import { startVlanSwitch, type VlanSwitch } from './vlan-lab.ts';

const NET = '10.216.0';
const SERVER = `${NET}.1`;
const TAP = 'sivl0';
const VLAN = 42;
// The guest's NICs in PCI order (eth0, eth1): netdev id, MAC, QEMU's port, the switch's port (namespace loopback).
const NICS = [
  { id: 'n0', nic: 'eth0', mac: '52:54:00:5b:42:01', qemu: 41001, sw: 40001 },
  { id: 'n1', nic: 'eth1', mac: '52:54:00:5b:42:02', qemu: 41002, sw: 40002 },
];
const SERVER_PORTS = { sw: 40010, socat: 41010 };
const BIG_MB = 192; // makes the image copy last long enough to cut a link in its middle
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
if (reason) console.warn(`boot-vlan-bond skipped: ${reason}`);

describe.skipIf(reason !== null)('boot with VLAN 42 tagged on an active-backup bond, the active NIC cut during the image copy', () => {
  let dir: string | undefined;
  let pkg: PackageResult;
  let lab: Lab | undefined;
  let server: ImageServerInfo;
  let ns = '';
  let sw: VlanSwitch;
  const reader = new DiskReader();
  const counters = (): Counters => sw.counters();

  beforeAll(async () => {
    ({ dir, pkg } = await buildTestPackage('console=ttyS0 panic=-1', false));
    lab = createLab('boot-vlan');
    server = await makeImageServer(join(lab.dir, 'server'));
    nameLeasesNode001(server, NET);
    writeFileSync(join(server.imageDir, 'var/lib/failover.bin'), randomBytes(BIG_MB * 1024 * 1024));
    ns = lab.ns('vlan');
    sw = await startVlanSwitch(lab, ns, { vlan: VLAN, guests: NICS, server: SERVER_PORTS, tap: TAP, cidrs: [`${SERVER}/24`] });
    await startDnsmasq(lab, ns, 'dnsmasq', TAP, { net: NET }, [`140,${SERVER}`, '144,no']);
    await startNsRsyncd(lab, ns, server, SERVER);
  }, 300_000);

  afterAll(async () => {
    reader.release();
    await lab?.cleanup(); // kills the switch, socat (its tap goes with it), dnsmasq and rsyncd; deletes the namespace
    removeTestDir(dir);
  });

  it('leases on bond0.42 through a tagged-only switch, fails over when the active NIC loses its link mid-copy, installs, powers off', async () => {
    const d = dir!;
    const disk = blankDisk(d);
    const qmp = join(d, 'qmp.sock');
    // The cut: once the console shows the copy at 10-70 %, the NIC that last sent tagged frames loses its link.
    let cut: { id: string; atLog: number; at: Counters; seconds: number } | undefined;
    const t0 = Date.now();
    const r: QemuOutcome = await bootQemu({
      workDir: d,
      kernel: join(pkg.dir, 'kernel'),
      initrd: join(pkg.dir, 'initrd.img'),
      append: `console=ttyS0 panic=-1 POST_ACTION=shutdown bond=bond0:eth0,eth1:mode=active-backup,miimon=100 vlan=bond0.${VLAN}:bond0 ip=bond0.${VLAN}:dhcp`,
      disks: [disk],
      netns: ns,
      dgram: sw.dgram(NICS),
      qmpSocket: qmp,
      // The console is a terminal: the image's progress is a bar redrawn with \r (`image [###---]  13%  35.2 MB/...`).
      marks: { lease: /DHCP: ACK on bond0\.42/, copy: /image \[[#-]*\] +\d+%/, copied: /image \[#+\] +100%/ },
      onPoll: async (log) => {
        if (cut) return;
        const pct = [...log.matchAll(/image \[[#-]*\] +(\d+)%/g)].map((m) => Number(m[1]));
        if (!pct.some((p) => p >= 10 && p <= 70)) return;
        const ports = counters().ports;
        const active = Object.entries(ports).sort(([, a], [, b]) => (b.lastTaggedMs ?? -1) - (a.lastTaggedMs ?? -1))[0]![0];
        await qmpCommands(qmp, [{ execute: 'set_link', arguments: { name: active, up: false } }]);
        const seconds = (Date.now() - t0) / 1000;
        // The counters as they stand once every frame sent before the cut is counted (the file lags up to 200 ms).
        await new Promise((res) => setTimeout(res, 500));
        cut = { id: active, atLog: log.length, at: counters(), seconds };
      },
      until: /reboot: Power down|si-agent shell #|Kernel panic/,
      timeoutMs: 600_000,
    });
    const end = counters();
    const why = `serial log:\n${tailOf(r.log, 80)}\n--- dnsmasq ---\n${tailOf(lab!.log('dnsmasq'), 30)}\n--- switch ---\n${JSON.stringify(end)}\n${lab!.log('switch')}`;
    expect(r.log, why).toMatch(/reboot: Power down/);
    console.log(`boot with VLAN 42 on a bond: /init after ${r.initSeconds} s, lease after ${r.marks.lease} s, copy from ${r.marks.copy} s, ` +
      `link ${cut?.id} cut at ${cut?.seconds} s, copy done at ${r.marks.copied} s, powered off after ${r.seconds} s; switch: ${JSON.stringify(end)}`);

    // The stack, as the guest's kernel and the agent say it.
    expect(r.log, why).toMatch(/bond0: \(slave eth0\): Enslaving/);
    expect(r.log, why).toMatch(/bond0: \(slave eth1\): Enslaving as a backup interface/); // active-backup, not balance-rr
    expect(r.log, why).toMatch(/links: bond0\.42 \(VLAN 42 on bond0 \(active-backup over eth0, eth1\)\)/);
    const ack = new RegExp(`DHCP: ACK on bond0\\.42: (${esc(NET)}\\.1\\d\\d)/24 from server ${esc(SERVER)}`).exec(r.log);
    expect(ack, why).not.toBeNull();
    const addr = ack![1]!;
    expect(r.log).toMatch(new RegExp(`network: bond0\\.42 ${esc(addr)} \\(dhcp\\)`));
    expect(lab!.log('dnsmasq')).toMatch(new RegExp(`DHCPACK\\(${TAP}\\) ${esc(addr)} ${NICS[0]!.mac}`));
    const rlog = readFileSync(server.logFile, 'utf8');
    expect(rlog, rlog).toMatch(new RegExp(`rsync on ${esc(server.imageName)}/ from \\S+ \\(${esc(addr)}\\)`));

    // The switch: everything the server got came in tagged 42 (IPv4 and ARP among it); no IPv4 or ARP frame came
    // untagged or on another VLAN, so the lease and the copy went over VLAN 42 only.
    expect(end.toServer, why).toBe(Object.values(end.ports).reduce((s, p) => s + p.tagged, 0));
    expect(end.toServerTypes['0x0800'] ?? 0, why).toBeGreaterThan(1000);
    expect(end.toServerTypes['0x0806'] ?? 0, why).toBeGreaterThan(0);
    for (const p of Object.values(end.ports)) {
      expect(p.otherVlan, why).toEqual({});
      expect(p.untagged['0x0800'] ?? 0, why).toBe(0);
      expect(p.untagged['0x0806'] ?? 0, why).toBe(0);
    }

    // The cut: during the copy, on the active NIC (eth0, the first enslaved); the bond made eth1 active, eth1 carried
    // the rest of the copy, eth0 nothing more; the copy went on to 100 % after the cut.
    expect(cut, why).toBeDefined();
    expect(cut!.id).toBe('n0');
    const after = r.log.slice(cut!.atLog);
    expect(after, why).toMatch(/bond0: \(slave eth0\): link status definitely down/);
    expect(after, why).toMatch(/bond0: \(slave eth1\): making interface the new active one/);
    expect(after, why).toMatch(/image \[#+\] +100%/);
    expect(end.ports.n0!.tagged - cut!.at.ports.n0!.tagged, why).toBe(0);
    expect(end.ports.n1!.tagged - cut!.at.ports.n1!.tagged, why).toBeGreaterThan(1000);

    const root = reader.mount(disk, d);
    expectFixtureInstalled(root, server);
    expect(readFileSync(join(root, 'var/lib/failover.bin')).equals(readFileSync(join(server.imageDir, 'var/lib/failover.bin'))), 'the big file arrived whole').toBe(true);
  }, 660_000);
});
