// Boot tier (needs root, qemu-system-x86_64, ip netns, /dev/net/tun, dnsmasq, rsync, opentracker, aria2c, mktorrent;
// TCG, no KVM): the real boot package (the agent's own BitTorrent peer inside the single executable) installs over BitTorrent. A namespace
// holds a bridge with the server address, a tap on it for QEMU's virtio NIC, dnsmasq (option 140 = the image server),
// the fixture rsync daemon with a `torrents` module, opentracker and aria2c seeding the image and override tarballs made
// as SystemImager makes them. The kernel command line says BITTORRENT=y and POST_ACTION=shutdown. The test checks the
// serial log, that rsyncd never sent the image, what the seeder sent, and the installed disk.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { canRunNetTests, createLab, waitFor, type Lab } from '../system/lib-net/netns.ts';
import { startDnsmasq } from '../system/lib-net/servers.ts';
import { createBtLab, makeTorrent, type BtLab } from '../system/lib-net/bt-lab.ts';
import { buildTestPackage, canBoot, removeTestDir } from './package-fixture.ts';
import { blankDisk, DiskReader, expectFixtureInstalled, nameLeasesNode001, startNsRsyncd } from './tap-boot.ts';
import { bootQemu, tailOf, type QemuOutcome } from './qemu.ts';

const NET = 200;
const TAP = 'btboottap0';
const MAC = '52:54:00:5a:99:01';
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function skipReason(): string | null {
  if (!canBoot()) return 'needs root and qemu-system-x86_64';
  if (!canRunNetTests()) return 'needs ip netns';
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun for the tap device';
  for (const t of ['/usr/sbin/dnsmasq', '/usr/bin/rsync', '/usr/bin/opentracker', '/usr/bin/aria2c', '/usr/bin/mktorrent']) if (!existsSync(t)) return `needs ${t}`;
  return null;
}
const reason = skipReason();
if (reason) console.warn(`boot-bittorrent skipped: ${reason}`);

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

describe.skipIf(reason !== null)('boot package installs over BitTorrent (opentracker and aria2c in a namespace, tap for QEMU)', () => {
  let dir: string | undefined;
  let pkg: PackageResult;
  let bt: BtLab | undefined;
  let lab: Lab | undefined;
  let server: ImageServerInfo;
  let imageBytes = 0;
  const reader = new DiskReader();

  beforeAll(async () => {
    ({ dir, pkg } = await buildTestPackage('console=ttyS0 panic=-1', false));
    bt = createBtLab('b', NET, 0);
    lab = createLab('bt-boot'); // its temp dir and daemon logs for dnsmasq; the namespace is the BitTorrent lab's
    server = await makeImageServer(join(bt.dir, 'server'));
    nameLeasesNode001(server, `10.99.${NET}`);
    sh('ip', ['-n', bt.srv, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap']);
    sh('ip', ['-n', bt.srv, 'link', 'set', TAP, 'master', `btbbr`]);
    sh('ip', ['-n', bt.srv, 'link', 'set', TAP, 'up']);
    await startDnsmasq(lab, bt.srv, 'dnsmasq', 'btbbr', { net: `10.99.${NET}` }, [`140,${bt.serverIp}`, '144,no']);
    const torrents = join(server.dir, 'torrents');
    mkdirSync(torrents);
    const made = [
      makeTorrent(server.imageDir, torrents, `image-${server.imageName}`, bt.trackerUrl, true),
      makeTorrent(join(server.overridesDir, 'compute'), torrents, 'override-compute', bt.trackerUrl, false),
    ];
    imageBytes = Number(sh('stat', ['-c', '%s', made[0]!.tarball]).trim());
    bt.startTracker(made.map((m) => m.infoHash));
    bt.countUploads();
    made.forEach((m, i) => bt!.startSeeder(`seeder${i}`, m.torrent, torrents, { port: 6881 + i }));
    const conf = readFileSync(server.rsyncdConf, 'utf8').replace('address = 127.0.0.1', `address = ${bt.serverIp}`);
    writeFileSync(server.rsyncdConf, `${conf}\n[torrents]\n  path = ${torrents}\n  comment = torrents\n`);
    await startNsRsyncd(lab, bt.srv, server, bt.serverIp);
    await waitFor(() => /:6882 /.test(bt!.exec(bt!.srv, ['ss', '-ltn'])), 10_000, `aria2c: ${bt.log('seeder1')}`);
  }, 300_000);

  afterAll(async () => {
    reader.release();
    await lab?.cleanup(); // dnsmasq and rsyncd
    bt?.cleanup(); // tracker, seeders, QEMU if still there, the namespace with its bridge and tap
    removeTestDir(dir);
  });

  it('leases, fetches the torrents, downloads and extracts the image over BitTorrent, powers off', async () => {
    const d = dir!;
    const disk = blankDisk(d);
    const r: QemuOutcome = await bootQemu({
      workDir: d,
      kernel: join(pkg.dir, 'kernel'),
      initrd: join(pkg.dir, 'initrd.img'),
      append: 'console=ttyS0 panic=-1 POST_ACTION=shutdown BITTORRENT=y',
      disks: [disk],
      netns: bt!.srv,
      tap: { ifname: TAP, mac: MAC },
      until: /reboot: Power down|si-agent shell #|Kernel panic/,
      timeoutMs: 540_000,
    });
    const why = `serial log:\n${tailOf(r.log, 80)}\n--- seeder ---\n${tailOf(bt!.log('seeder0'), 20)}`;
    expect(r.log, why).toMatch(/reboot: Power down/);
    console.log(`boot over BitTorrent: /init after ${r.initSeconds} s, powered off after ${r.seconds} s`);
    const ack = new RegExp(`DHCP: ACK on (\\S+): (10\\.99\\.${NET}\\.1\\d\\d)/24`).exec(r.log);
    expect(ack, why).not.toBeNull();
    const addr = ack![2]!;
    // The peer listened on the leased address; the image came as the torrent, extracted while it arrived.
    expect(r.log).toMatch(new RegExp(`transport: bittorrent \\(${esc(addr)}:\\d+, the agent's own peer over TCP`));
    expect(r.log).toMatch(new RegExp(`BitTorrent image-${esc(server.imageName)}\\.tar\\.gz: ${imageBytes} bytes in \\d+ pieces, staged in /tmp`));
    expect(r.log).toMatch(new RegExp(`BitTorrent image-${esc(server.imageName)}\\.tar\\.gz: extracted \\d+ entries`));
    expect(r.log).toMatch(/BitTorrent override-compute\.tar: extracted/);
    expect(r.log).toMatch(/override global_ovr has no torrent .*applied over rsync instead/);
    expect(r.log).toMatch(/BitTorrent: .* downloaded from the image server, .* from other clients, .* uploaded/);
    // rsyncd served the scripts and torrents modules, never the image; the seeder sent at least the image.
    const rlog = readFileSync(server.logFile, 'utf8');
    expect(rlog).toMatch(new RegExp(`rsync on torrents/ from \\S+ \\(${esc(addr)}\\)`));
    expect(rlog).not.toMatch(new RegExp(`rsync on ${esc(server.imageName)}/ `));
    expect(bt!.uploadedBytes()).toBeGreaterThanOrEqual(imageBytes);

    const mnt = reader.mount(disk, d);
    expectFixtureInstalled(mnt, server);
    expect(existsSync(join(mnt, 'tmp', `image-${server.imageName}.tar.gz`))).toBe(false);
  }, 600_000);
});
