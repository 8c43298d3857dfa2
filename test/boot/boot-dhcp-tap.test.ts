// Boot tier (needs root, qemu-system-x86_64, ip netns, /dev/net/tun, dnsmasq, rsync; TCG, no KVM): the agent as /init
// gets everything from the network it boots on. A network namespace holds a tap device with the server address,
// dnsmasq (DHCP only; option 140 = the image server, 141 = the log server port) and the fixture rsync daemon; QEMU runs
// inside that namespace with its virtio NIC on the tap. The kernel command line carries nothing SystemImager-specific
// but POST_ACTION=shutdown (so the install ends in a power-off, not a reboot): no IMAGESERVER, no HOSTNAME (the
// fixture's scripts/hosts names every leased address node001). The test checks the serial log (lease on the virtio
// NIC, power-off), the dnsmasq log (DHCPACK), the rsyncd log (the leased address) and the disk (loop-mounted).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { canRunNetTests, createLab, type Lab } from '../system/lib-net/netns.ts';
import { startDnsmasq } from '../system/lib-net/servers.ts';
import { buildTestPackage, canBoot, removeTestDir } from './package-fixture.ts';
import { addTap, blankDisk, DiskReader, expectFixtureInstalled, nameLeasesNode001, startNsRsyncd } from './tap-boot.ts';
import { bootQemu, tailOf, type QemuOutcome } from './qemu.ts';

const NET = '10.214.0';
const SERVER = `${NET}.1`;
const TAP = 'sitap0';
const MAC = '52:54:00:5a:14:01';
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Why this test cannot run here, or null. */
function skipReason(): string | null {
  if (!canBoot()) return 'needs root and qemu-system-x86_64';
  if (!canRunNetTests()) return 'needs ip netns';
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun for the tap device';
  if (!existsSync('/usr/sbin/dnsmasq')) return 'needs dnsmasq';
  if (!existsSync('/usr/bin/rsync')) return 'needs rsync';
  return null;
}
const reason = skipReason();
if (reason) console.warn(`boot-dhcp-tap skipped: ${reason}`);

describe.skipIf(reason !== null)('boot over a tap device: lease and IMAGESERVER from dnsmasq, image from rsyncd in a namespace', () => {
  let dir: string | undefined;
  let pkg: PackageResult;
  let lab: Lab | undefined;
  let server: ImageServerInfo;
  let ns = '';
  const reader = new DiskReader();

  beforeAll(async () => {
    ({ dir, pkg } = await buildTestPackage('console=ttyS0 panic=-1', false));
    lab = createLab('boot-tap');
    server = await makeImageServer(join(lab.dir, 'server'));
    // Every address dnsmasq leases (.100-.150) is node001 in the server's hosts file: HOSTNAME comes from there.
    nameLeasesNode001(server, NET);
    ns = lab.ns('tap');
    addTap(ns, TAP, `${SERVER}/24`);
    await startDnsmasq(lab, ns, 'dnsmasq', TAP, { net: NET }, [`140,${SERVER}`, '141,5514', '144,no']);
    await startNsRsyncd(lab, ns, server, SERVER);
  }, 300_000);

  afterAll(async () => {
    reader.release();
    await lab?.cleanup(); // kills dnsmasq and rsyncd, deletes the namespace and the tap in it
    removeTestDir(dir);
  });

  it('leases an address on the virtio NIC, installs the image from the namespace, powers off', async () => {
    const d = dir!;
    const disk = blankDisk(d);
    const r: QemuOutcome = await bootQemu({
      workDir: d,
      kernel: join(pkg.dir, 'kernel'),
      initrd: join(pkg.dir, 'initrd.img'),
      append: 'console=ttyS0 panic=-1 POST_ACTION=shutdown',
      disks: [disk],
      netns: ns,
      tap: { ifname: TAP, mac: MAC },
      until: /reboot: Power down|si-agent shell #|Kernel panic/,
      timeoutMs: 540_000,
    });
    const why = `serial log:\n${tailOf(r.log, 80)}\n--- dnsmasq ---\n${tailOf(lab!.log('dnsmasq'), 30)}`;
    expect(r.log, why).toMatch(/reboot: Power down/);
    console.log(`boot over tap: /init after ${r.initSeconds} s, powered off after ${r.seconds} s`);

    // The agent's own DHCP client got the lease on the virtio NIC (the guest's only NIC, the MAC given to QEMU).
    const ack = new RegExp(`DHCP: ACK on (\\S+): (${esc(NET)}\\.1\\d\\d)/24 from server ${esc(SERVER)}`).exec(r.log);
    expect(ack, why).not.toBeNull();
    const iface = ack![1]!;
    const addr = ack![2]!;
    expect(r.log).toMatch(new RegExp(`DHCP: DISCOVER 1 on ${esc(iface)} \\(${MAC},`));
    expect(r.log).toMatch(new RegExp(`DHCP: IMAGESERVER=${esc(SERVER)} \\(dhcp option 140\\)`));
    expect(r.log).toMatch(new RegExp(`network: ${esc(iface)} ${esc(addr)} \\(dhcp\\)`));
    expect(r.log).toMatch(/host node001, groups: compute, image: fixture-image/);
    expect(r.log).toMatch(/Laying the image down/);

    // dnsmasq acknowledged that address to the guest's MAC, once: the lease taken while the local.cfg search ran (PID 1
    // loads the NIC drivers first and says so) is the one the install kept.
    expect(lab!.log('dnsmasq')).toMatch(new RegExp(`DHCPACK\\(${TAP}\\) ${esc(addr)} ${MAC}`));
    expect(lab!.log('dnsmasq').match(new RegExp(`DHCPACK\\(${TAP}\\) \\S+ ${MAC}`, 'g'))).toHaveLength(1);
    expect(r.log).not.toMatch(/brought up again/);
    const at = (re: RegExp) => r.log.search(re);
    expect(at(/boot: NIC drivers loaded/)).toBeGreaterThan(-1);
    expect(at(/boot: NIC drivers loaded/)).toBeLessThan(at(/boot: modules loaded/));
    // QEMU's empty CD drive: the search sees there is no medium without a blkid run.
    expect(r.log).toMatch(/local\.cfg search: \/dev\/sr0 holds no medium/);
    // The rsync daemon in the namespace served the whole image to the leased address, then the imaging-complete marker.
    const rlog = readFileSync(server.logFile, 'utf8');
    expect(rlog, rlog).toMatch(new RegExp(`rsync on ${esc(server.imageName)}/ from \\S+ \\(${esc(addr)}\\)`));
    expect(rlog).toMatch(new RegExp(`rsync on scripts/imaging_complete_${esc(addr)} from \\S+ \\(${esc(addr)}\\)`));

    // The disk holds the installed tree (the image's layout: swap p1, ext4 root p2).
    const mnt = reader.mount(disk, d);
    expectFixtureInstalled(mnt, server);
  }, 600_000);
});
