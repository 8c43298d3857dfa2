// Boot tier (needs root, qemu-system-x86_64, ip netns, /dev/net/tun, dnsmasq, rsync; TCG, no KVM): the agent as /init
// gets everything from the network it boots on. A network namespace holds a tap device with the server address,
// dnsmasq (DHCP only; option 140 = the image server, 141 = the log server port) and the fixture rsync daemon; QEMU runs
// inside that namespace with its virtio NIC on the tap. The kernel command line carries nothing SystemImager-specific
// but POST_ACTION=shutdown (so the install ends in a power-off, not a reboot): no IMAGESERVER, no HOSTNAME (the
// fixture's scripts/hosts names every leased address node001). The test checks the serial log (lease on the virtio
// NIC, power-off), the dnsmasq log (DHCPACK), the rsyncd log (the leased address) and the disk (loop-mounted).

import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { canRunNetTests, createLab, ip, waitFor, type Lab } from '../system/lib-net/netns.ts';
import { startDnsmasq } from '../system/lib-net/servers.ts';
import { buildTestPackage, canBoot, removeTestDir } from './package-fixture.ts';
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

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const quiet = (cmd: string, args: string[]) => {
  try {
    sh(cmd, args);
  } catch {
    /* best-effort cleanup */
  }
};

describe.skipIf(reason !== null)('boot over a tap device: lease and IMAGESERVER from dnsmasq, image from rsyncd in a namespace', () => {
  let dir: string | undefined;
  let pkg: PackageResult;
  let lab: Lab | undefined;
  let server: ImageServerInfo;
  let ns = '';
  const loops: string[] = [];
  const mounted: string[] = [];

  beforeAll(async () => {
    ({ dir, pkg } = await buildTestPackage('console=ttyS0 panic=-1', false));
    lab = createLab('boot-tap');
    server = await makeImageServer(join(lab.dir, 'server'));
    // Every address dnsmasq leases (.100-.150) is node001 in the server's hosts file: HOSTNAME comes from there.
    appendFileSync(join(server.scriptsDir, 'hosts'), Array.from({ length: 51 }, (_, i) => `${NET}.${100 + i} node001.cluster node001\n`).join(''));
    ns = lab.ns('tap');
    ip('-n', ns, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap');
    ip('-n', ns, 'addr', 'add', `${SERVER}/24`, 'dev', TAP);
    ip('-n', ns, 'link', 'set', TAP, 'up');
    await startDnsmasq(lab, ns, 'dnsmasq', TAP, { net: NET }, [`140,${SERVER}`, '141,5514', '144,no']);
    lab.daemon(ns, 'rsyncd', ['rsync', '--daemon', '--no-detach', `--config=${server.rsyncdConf}`, '--port=873', `--address=${SERVER}`]);
    const logSays = (re: RegExp) => existsSync(server.logFile) && re.test(readFileSync(server.logFile, 'utf8'));
    await waitFor(() => logSays(/rsyncd version .* starting/), 10_000, `rsyncd in ${ns}: ${lab.log('rsyncd')}`);
  }, 300_000);

  afterAll(async () => {
    for (const m of mounted.splice(0)) quiet('umount', [m]);
    for (const l of loops.splice(0)) quiet('losetup', ['-d', l]);
    await lab?.cleanup(); // kills dnsmasq and rsyncd, deletes the namespace and the tap in it
    removeTestDir(dir);
  });

  it('leases an address on the virtio NIC, installs the image from the namespace, powers off', async () => {
    const d = dir!;
    const disk = join(d, 'disk.img');
    writeFileSync(disk, '');
    truncateSync(disk, 1024 * 1024 * 1024);
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

    // dnsmasq acknowledged that address to the guest's MAC.
    expect(lab!.log('dnsmasq')).toMatch(new RegExp(`DHCPACK\\(${TAP}\\) ${esc(addr)} ${MAC}`));
    // The rsync daemon in the namespace served the whole image to the leased address, then the imaging-complete marker.
    const rlog = readFileSync(server.logFile, 'utf8');
    expect(rlog, rlog).toMatch(new RegExp(`rsync on ${esc(server.imageName)}/ from \\S+ \\(${esc(addr)}\\)`));
    expect(rlog).toMatch(new RegExp(`rsync on scripts/imaging_complete_${esc(addr)} from \\S+ \\(${esc(addr)}\\)`));

    // The disk holds the installed tree (the image's layout: swap p1, ext4 root p2).
    const loop = sh('losetup', ['-fP', '--show', disk]).trim();
    loops.push(loop);
    quiet('partprobe', [loop]);
    const mnt = join(d, 'mnt');
    mkdirSync(mnt, { recursive: true });
    sh('mount', ['-o', 'ro', `${loop}p2`, mnt]);
    mounted.unshift(mnt);
    expect(readFileSync(join(mnt, 'etc/systemimager/IMAGE_LAST_SYNCED_TO'), 'utf8').trim()).toBe(server.imageName);
    expect(readFileSync(join(mnt, 'etc/hostname'), 'utf8')).toBe('node001\n');
    expect(readFileSync(join(mnt, 'etc/shared-gc'), 'utf8')).toBe('compute\n');
    expect(existsSync(join(mnt, 'root/node001-only'))).toBe(true);
  }, 600_000);
});
