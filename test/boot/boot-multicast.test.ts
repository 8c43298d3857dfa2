// Boot tier (needs root, qemu-system-x86_64, ip netns, /dev/net/tun, dnsmasq, flamethrower, udpcast, rsync; TCG, no
// KVM): the boot package installs over multicast. A network namespace holds a tap device with the server address,
// dnsmasq (option 140 = the image server, 143 = the Flamethrower directory portbase), the real flamethrowerd casting the
// scripts, the image and the overrides on the tap, and the fixture rsync daemon (only for imaging_complete). QEMU runs in
// that namespace with its virtio NIC on the tap; its kernel command line carries nothing but POST_ACTION=shutdown.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { canRunNetTests, createLab, ip, waitFor, type Lab } from '../system/lib-net/netns.ts';
import { startDnsmasq } from '../system/lib-net/servers.ts';
import { buildTestPackage, canBoot, removeTestDir } from './package-fixture.ts';
import { addTap, blankDisk, DiskReader, expectFixtureInstalled, nameLeasesNode001, startNsRsyncd } from './tap-boot.ts';
import { bootQemu, tailOf, type QemuOutcome } from './qemu.ts';

const NET = '10.77.3';
const SERVER = `${NET}.1`;
const TAP = 'mctap0';
const MAC = '52:54:00:77:03:01';
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Why this test cannot run here, or null. */
function skipReason(): string | null {
  if (!canBoot()) return 'needs root and qemu-system-x86_64';
  if (!canRunNetTests()) return 'needs ip netns';
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun for the tap device';
  for (const p of ['/usr/sbin/dnsmasq', '/usr/bin/flamethrowerd', '/usr/bin/udp-sender', '/usr/bin/rsync']) if (!existsSync(p)) return `needs ${p}`;
  return null;
}
const reason = skipReason();
if (reason) console.warn(`boot-multicast skipped: ${reason}`);

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const quiet = (cmd: string, args: string[]) => {
  try {
    sh(cmd, args);
  } catch {
    /* best-effort cleanup */
  }
};

describe.skipIf(reason !== null)('boot over a tap device: the image comes over multicast from flamethrowerd', () => {
  let dir: string | undefined;
  let pkg: PackageResult;
  let lab: Lab | undefined;
  let server: ImageServerInfo;
  let ns = '';
  const reader = new DiskReader();

  beforeAll(async () => {
    ({ dir, pkg } = await buildTestPackage('console=ttyS0 panic=-1', false));
    lab = createLab('mc-boot');
    server = await makeImageServer(join(lab.dir, 'server'));
    // The image's own layout, published in the scripts (a multicast client gets nothing from the image module over rsync).
    writeFileSync(join(server.scriptsDir, 'disks-layouts', 'node001.xml'), readFileSync(join(server.imageDir, 'etc/systemimager/autoinstallscript.conf')));
    nameLeasesNode001(server, NET);
    ns = lab.ns('mcboot');
    addTap(ns, TAP, `${SERVER}/24`);
    ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', TAP);
    await startDnsmasq(lab, ns, 'dnsmasq', TAP, { net: NET }, [`140,${SERVER}`, '143,9000']);
    await startNsRsyncd(lab, ns, server, SERVER);
    // flamethrower.conf as SystemImager writes it; flamethrowerd daemonizes, its casts stay in the namespace (killed by cleanup).
    const state = join(lab.dir, 'ft-state');
    const ftdir = join(lab.dir, 'ft-directory');
    mkdirSync(state);
    mkdirSync(ftdir);
    const modules = [['autoinstall_scripts', server.scriptsDir], [server.imageName, server.imageDir], ...server.overrides.map((o) => [`override_${o}`, join(server.overridesDir, o)])];
    writeFileSync(join(lab.dir, 'flamethrower.conf'), [
      'START_FLAMETHROWER_DAEMON = yes', 'FLAMETHROWER_DIRECTORY_PORTBASE = 9000', `INTERFACE = ${TAP}`, 'MAX_BITRATE = 50M', 'FULL_DUPLEX = on',
      'MIN_CLIENTS = 1', 'MAX_WAIT = 2', 'MIN_WAIT = 0', 'NOSYNC = on', 'DEBUG = off', 'REXMIT_HELLO_INTERVAL = 1000',
      `FLAMETHROWER_DIRECTORY_DIR = ${ftdir}`, `FLAMETHROWER_STATE_DIR = ${state}`, `LOG = ${join(lab.dir, 'flamethrower.log')}`, '',
      ...modules.flatMap(([name, d]) => [`[${name}]`, `DIR = ${d}`, '']),
    ].join('\n'));
    // udp-sender reads the keyboard: a FIFO that never reaches EOF keeps each cast waiting for a receiver.
    const fifo = join(lab.dir, 'stdin.fifo');
    sh('mkfifo', [fifo]);
    lab.daemon(ns, 'flamethrowerd', ['sh', '-c', 'exec flamethrowerd --config-file "$1" --pid-file "$2" <>"$3"', 'sh', join(lab.dir, 'flamethrower.conf'), join(lab.dir, 'ft.pid'), fifo]);
    await waitFor(() => existsSync(join(ftdir, server.imageName)), 10_000, `flamethrowerd in ${ns}: ${lab.log('flamethrowerd')}`);
  }, 300_000);

  afterAll(async () => {
    reader.release();
    // flamethrowerd and its udp-senders left the lab's process group: every process in the namespace is one it started.
    if (ns) for (const pid of (() => { try { return sh('ip', ['netns', 'pids', ns]).split('\n').filter(Boolean); } catch { return []; } })()) quiet('kill', ['-9', pid]);
    await lab?.cleanup();
    removeTestDir(dir);
  });

  it('leases an address, receives directory, scripts, image and overrides by udp-receiver, installs, powers off', async () => {
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
    const why = `serial log:\n${tailOf(r.log, 80)}\n--- flamethrower ---\n${tailOf(lab!.log('flamethrowerd'), 20)}`;
    expect(r.log, why).toMatch(/reboot: Power down/);
    console.log(`boot over multicast: /init after ${r.initSeconds} s, powered off after ${r.seconds} s`);
    const ack = new RegExp(`DHCP: ACK on (\\S+): (${esc(NET)}\\.1\\d\\d)/24 from server ${esc(SERVER)}`).exec(r.log);
    expect(ack, why).not.toBeNull();
    const addr = ack![2]!;
    expect(r.log).toMatch(/FLAMETHROWER_DIRECTORY_PORTBASE=9000 \(dhcp option 143\)/);
    expect(r.log).toMatch(/transport: multicast \(portbase 9000 on \S+/);
    expect(r.log).toMatch(new RegExp(`multicast ${esc(server.imageName)}: \\d+ bytes, \\d+ entries, sha256 [0-9a-f]{64}`));
    expect(r.log).toMatch(/multicast override_node001: /);
    // The rsync daemon served no image, only heard imaging_complete from the leased address.
    const rlog = readFileSync(server.logFile, 'utf8');
    expect(rlog).not.toMatch(new RegExp(`rsync on ${esc(server.imageName)}/`));
    expect(rlog).toMatch(new RegExp(`rsync on scripts/imaging_complete_${esc(addr)} from \\S+ \\(${esc(addr)}\\)`));
    // The disk holds the installed tree (the image's layout: swap p1, ext4 root p2).
    const mnt = reader.mount(disk, d);
    expectFixtureInstalled(mnt, server);
    expect(readFileSync(join(mnt, 'var/lib/big.bin')).equals(readFileSync(join(server.imageDir, 'var/lib/big.bin')))).toBe(true);
    expect(existsSync(join(mnt, 'proc/cpuinfo'))).toBe(false);
  }, 600_000);
});
