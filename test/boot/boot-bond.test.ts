// Boot tier (needs root, qemu-system-x86_64, ip netns, /dev/net/tun, dnsmasq, rsync; TCG, no KVM): the installer's
// link stack for real. The guest has two virtio NICs, each on its own tap; the taps are ports of a bridge in a network
// namespace that holds the server address, dnsmasq and the fixture rsync daemon. The kernel command line asks, in
// dracut's words, for an active-backup bond of both NICs with miimon and jumbo frames, and DHCP on the bond. The
// test checks that the guest built the bond (serial log), took its lease on bond0, installed the image and powered off.
//
// Untagged only, as a first step: this host's kernel has no 8021q and no act_vlan (`tc ... action vlan push` fails
// with "Failed to load TC action module"), and its bridge refuses vlan_filtering, so nothing on the host side can
// tag or untag VLAN 42 for the guest; test/boot/boot-vlan-bond.test.ts does it with a userspace switch (dgram netdevs).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { canRunNetTests, createLab, type Lab } from '../system/lib-net/netns.ts';
import { startDnsmasq } from '../system/lib-net/servers.ts';
import { buildTestPackage, canBoot, removeTestDir } from './package-fixture.ts';
import { blankDisk, DiskReader, expectFixtureInstalled, nameLeasesNode001, startNsRsyncd } from './tap-boot.ts';
import { bootQemu, tailOf, type QemuOutcome } from './qemu.ts';

const NET = '10.215.0';
const SERVER = `${NET}.1`;
const BR = 'sibr0';
const TAPS = ['sibond0', 'sibond1'];
const MACS = ['52:54:00:5b:15:01', '52:54:00:5b:15:02'];
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const sh = (args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

/** Why this test cannot run here, or null. */
function skipReason(): string | null {
  if (!canBoot()) return 'needs root and qemu-system-x86_64';
  if (!canRunNetTests()) return 'needs ip netns';
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun for the tap devices';
  if (!existsSync('/usr/sbin/dnsmasq')) return 'needs dnsmasq';
  if (!existsSync('/usr/bin/rsync')) return 'needs rsync';
  return null;
}
const reason = skipReason();
if (reason) console.warn(`boot-bond skipped: ${reason}`);

describe.skipIf(reason !== null)('boot with two NICs bonded (active-backup, dracut bond= and ip= words), DHCP on the bond', () => {
  let dir: string | undefined;
  let pkg: PackageResult;
  let lab: Lab | undefined;
  let server: ImageServerInfo;
  let ns = '';
  const reader = new DiskReader();

  beforeAll(async () => {
    ({ dir, pkg } = await buildTestPackage('console=ttyS0 panic=-1', false));
    lab = createLab('boot-bond');
    server = await makeImageServer(join(lab.dir, 'server'));
    nameLeasesNode001(server, NET);
    ns = lab.ns('bond');
    // The switch: a bridge (built into this kernel) with both taps as ports and the server's address.
    sh(['-n', ns, 'link', 'add', BR, 'type', 'bridge']);
    sh(['-n', ns, 'addr', 'add', `${SERVER}/24`, 'brd', '+', 'dev', BR]);
    for (const t of TAPS) {
      sh(['-n', ns, 'tuntap', 'add', 'dev', t, 'mode', 'tap']);
      sh(['-n', ns, 'link', 'set', t, 'mtu', '9000', 'master', BR, 'up']);
    }
    sh(['-n', ns, 'link', 'set', BR, 'up']);
    await startDnsmasq(lab, ns, 'dnsmasq', BR, { net: NET }, [`140,${SERVER}`, '144,no']);
    await startNsRsyncd(lab, ns, server, SERVER);
  }, 300_000);

  afterAll(async () => {
    reader.release();
    await lab?.cleanup(); // kills dnsmasq and rsyncd, deletes the namespace with its bridge and taps
    removeTestDir(dir);
  });

  it('builds bond0 over both NICs, leases on bond0, installs, powers off', async () => {
    const d = dir!;
    const disk = blankDisk(d);
    const r: QemuOutcome = await bootQemu({
      workDir: d,
      kernel: join(pkg.dir, 'kernel'),
      initrd: join(pkg.dir, 'initrd.img'),
      append: 'console=ttyS0 panic=-1 POST_ACTION=shutdown bond=bond0:eth0,eth1:mode=active-backup,miimon=100:9000 ip=bond0:dhcp',
      disks: [disk],
      netns: ns,
      tap: { ifname: TAPS[0]!, mac: MACS[0]! },
      extraArgs: ['-netdev', `tap,id=n1,ifname=${TAPS[1]},script=no,downscript=no`, '-device', `virtio-net-pci,netdev=n1,mac=${MACS[1]}`],
      until: /reboot: Power down|si-agent shell #|Kernel panic/,
      timeoutMs: 540_000,
    });
    const why = `serial log:\n${tailOf(r.log, 80)}\n--- dnsmasq ---\n${tailOf(lab!.log('dnsmasq'), 30)}`;
    expect(r.log, why).toMatch(/reboot: Power down/);
    console.log(`boot with a bond: /init after ${r.initSeconds} s, powered off after ${r.seconds} s`);
    // The guest kernel's own word that the bond took both NICs.
    expect(r.log, why).toMatch(/bond0: \(slave eth0\): Enslaving/);
    expect(r.log, why).toMatch(/bond0: \(slave eth1\): Enslaving/);
    expect(r.log, why).toMatch(/links: bond0 \(active-backup over eth0, eth1\), MTU 9000/);
    const ack = new RegExp(`DHCP: ACK on bond0: (${esc(NET)}\\.1\\d\\d)/24 from server ${esc(SERVER)}`).exec(r.log);
    expect(ack, why).not.toBeNull();
    const addr = ack![1]!;
    expect(r.log).toMatch(new RegExp(`network: bond0 ${esc(addr)} \\(dhcp\\)`));
    // The bond carries the first slave's MAC: dnsmasq leased to it.
    expect(lab!.log('dnsmasq')).toMatch(new RegExp(`DHCPACK\\(${BR}\\) ${esc(addr)} ${MACS[0]}`));
    const rlog = readFileSync(server.logFile, 'utf8');
    expect(rlog, rlog).toMatch(new RegExp(`rsync on ${esc(server.imageName)}/ from \\S+ \\(${esc(addr)}\\)`));
    expectFixtureInstalled(reader.mount(disk, d), server);
  }, 600_000);
});
