// Run mode over multicast and BitTorrent (boot tier: root, qemu-system-x86_64, ip netns, /dev/net/tun, dnsmasq, rsync,
// socat, and flamethrowerd + udpcast or opentracker + aria2c + mktorrent; TCG). The machine's QEMU NIC sits on a tap in
// a namespace that holds the image server (as in boot-multicast and boot-bittorrent); the disk is on virtio-scsi
// (/dev/sda); a socat in the namespace stands in for the monitor daemon. The scripts module carries the test master as
// node001.master, so the agent chooses it by host name (the hosts file names every leased address node001), and the
// command line carries neither SCRIPTNAME, SCRIPT_MODE nor POST_ACTION:
// - msdos-autodetect-multicast.master finds the disk in /proc/diskstats, gets image and overrides with
//   flamethrower_client from the real flamethrowerd, renames the golden client's /dev/hda in fstab, beeps (103);
// - gpt-bittorrent.master stages the image tarball with bittorrent_get_file (the agent's peer, seeded by aria2c),
//   unpacks it with tar -xzSpf, the overrides likewise, stops the peer, reboots (104).
// The test then reads the disk back through a loop device.

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { INSTALLER_KERNEL_WORDS } from '../../agent/init/installer-kernel-words.ts';
import { statuses } from '../system/lib/monitor-listener.ts';
import { canRunNetTests, createLab, ip, waitFor, type Lab } from '../system/lib-net/netns.ts';
import { startDnsmasq } from '../system/lib-net/servers.ts';
import { createBtLab, makeTorrent, type BtLab } from '../system/lib-net/bt-lab.ts';
import { buildTestPackage, canBoot, removeTestDir } from './package-fixture.ts';
import { addTap, blankDisk, DiskReader, nameLeasesNode001, startNsRsyncd } from './tap-boot.ts';
import { bootQemu, tailOf } from './qemu.ts';

const MASTERS = resolve(import.meta.dirname, '../../fixtures/masters');
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const quiet = (cmd: string, args: string[]) => {
  try {
    sh(cmd, args);
  } catch {
    /* best-effort cleanup */
  }
};
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const lineOf = (file: string, re: RegExp) => readFileSync(join(MASTERS, file), 'utf8').split('\n').findIndex((l) => re.test(l)) + 1;
/** The agent's trace (in /tmp/si.log) of the command on the master's line matching re; the master runs as node001.master here. */
const traced = (file: string, re: RegExp, command: string) => new RegExp(`\\+ node001\\.master:${lineOf(file, re)}: ${esc(command)}`);
const words = INSTALLER_KERNEL_WORDS.join(' ');

function missing(paths: string[]): string | null {
  if (!canBoot()) return 'needs root and qemu-system-x86_64';
  if (!canRunNetTests()) return 'needs ip netns';
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun for the tap device';
  for (const p of ['/usr/sbin/dnsmasq', '/usr/bin/rsync', '/usr/bin/socat', ...paths]) if (!existsSync(p)) return `needs ${p}`;
  return null;
}
const mcReason = missing(['/usr/bin/flamethrowerd', '/usr/bin/udp-sender']);
const btReason = missing(['/usr/bin/opentracker', '/usr/bin/aria2c', '/usr/bin/mktorrent']);
if (mcReason) console.warn(`boot-master-cast (multicast) skipped: ${mcReason}`);
if (btReason) console.warn(`boot-master-cast (BitTorrent) skipped: ${btReason}`);

// One package for both describes, built by whichever runs first.
let built: Promise<{ dir: string; pkg: PackageResult }> | undefined;
const testPackage = () => (built ??= buildTestPackage('console=ttyS0 panic=-1', false));
afterAll(async () => {
  if (built) removeTestDir((await built.catch(() => undefined))?.dir);
});

/** A socat in ns on addr:8181 appending every monitor line to a file; returns the file. */
async function startMonitor(lab: Lab, ns: string, addr: string): Promise<string> {
  const file = join(lab.dir, 'monitor.lines');
  writeFileSync(file, '');
  lab.daemon(ns, 'monitor', ['socat', '-u', `TCP-LISTEN:8181,bind=${addr},fork,reuseaddr`, `OPEN:${file},append`]);
  await waitFor(() => sh('ip', ['netns', 'exec', ns, 'ss', '-ltn']).includes(`${addr}:8181`), 10_000, `monitor socat: ${lab.log('monitor')}`);
  return file;
}
const monitorStatuses = (file: string) => statuses(readFileSync(file, 'utf8').split('\n').filter(Boolean));

/** The installed tree as the masters leave it: the image, the overrides in order, the post-install scripts, the marker. */
function expectInstalled(root: string, server: ImageServerInfo, marker: RegExp): void {
  expect(readFileSync(join(root, 'etc/systemimager/IMAGE_LAST_SYNCED_TO'), 'utf8').trim()).toBe(server.imageName);
  expect(readFileSync(join(root, 'var/lib/big.bin')).equals(readFileSync(join(server.imageDir, 'var/lib/big.bin')))).toBe(true);
  expect(readFileSync(join(root, 'home/user/notes.txt'), 'utf8')).toBe('owned by 4242:4343\n');
  expect(existsSync(join(root, 'proc/cpuinfo'))).toBe(false);
  for (const o of server.overrides) expect(existsSync(join(root, `etc/${o}-marker`)), o).toBe(true);
  expect(readFileSync(join(root, 'etc/shared-gc'), 'utf8')).toBe('compute\n');
  expect(readFileSync(join(root, 'etc/motd'), 'utf8')).toBe('node001 motd\n');
  expect(existsSync(join(root, 'root/node001-only'))).toBe(true);
  expect(readFileSync(join(root, 'root/post-install-order'), 'utf8')).toBe('all\nimage\ngroup\nhost\n');
  expect(readFileSync(join(root, 'root/post-install-ran'), 'utf8')).toMatch(/^chrooted=yes$/m);
  expect(readFileSync(join(root, 'root/master-edit'), 'utf8')).toMatch(marker);
}

describe.skipIf(mcReason !== null)('boot, run mode over multicast: msdos-autodetect-multicast.master with flamethrowerd', () => {
  const M = 'msdos-autodetect-multicast.master';
  const NET = '10.77.5';
  const SERVER = `${NET}.1`;
  let dir = '';
  let pkg: PackageResult;
  let lab: Lab | undefined;
  let server: ImageServerInfo;
  let ns = '';
  let monitorFile = '';
  const reader = new DiskReader();

  beforeAll(async () => {
    ({ dir, pkg } = await testPackage());
    lab = createLab('mm-boot');
    server = await makeImageServer(join(lab.dir, 'server'));
    copyFileSync(join(MASTERS, M), join(server.scriptsDir, 'node001.master'));
    nameLeasesNode001(server, NET);
    ns = lab.ns('mmboot');
    addTap(ns, 'mmtap0', `${SERVER}/24`);
    ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'mmtap0');
    await startDnsmasq(lab, ns, 'dnsmasq', 'mmtap0', { net: NET }, [`140,${SERVER}`, '143,9000']);
    await startNsRsyncd(lab, ns, server, SERVER);
    monitorFile = await startMonitor(lab, ns, SERVER);
    // flamethrower.conf as SystemImager writes it (see boot-multicast.test.ts); its casts stay in the namespace.
    const state = join(lab.dir, 'ft-state');
    const ftdir = join(lab.dir, 'ft-directory');
    mkdirSync(state);
    mkdirSync(ftdir);
    const modules = [['autoinstall_scripts', server.scriptsDir], [server.imageName, server.imageDir], ...server.overrides.map((o) => [`override_${o}`, join(server.overridesDir, o)])];
    writeFileSync(join(lab.dir, 'flamethrower.conf'), [
      'START_FLAMETHROWER_DAEMON = yes', 'FLAMETHROWER_DIRECTORY_PORTBASE = 9000', 'INTERFACE = mmtap0', 'MAX_BITRATE = 50M', 'FULL_DUPLEX = on',
      'MIN_CLIENTS = 1', 'MAX_WAIT = 2', 'MIN_WAIT = 0', 'NOSYNC = on', 'DEBUG = off', 'REXMIT_HELLO_INTERVAL = 1000',
      `FLAMETHROWER_DIRECTORY_DIR = ${ftdir}`, `FLAMETHROWER_STATE_DIR = ${state}`, `LOG = ${join(lab.dir, 'flamethrower.log')}`, '',
      ...modules.flatMap(([name, d]) => [`[${name}]`, `DIR = ${d}`, '']),
    ].join('\n'));
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
  });

  it('finds /dev/sda in /proc/diskstats, receives image and overrides by flamethrower_client, renames /dev/hda in fstab, then 103 and the beep', async () => {
    const disk = blankDisk(dir, 600);
    const r = await bootQemu({
      workDir: dir,
      kernel: join(pkg.dir, 'kernel'),
      initrd: join(pkg.dir, 'initrd.img'),
      append: `console=ttyS0 panic=-1 ${words} MONITOR_SERVER=${SERVER}`,
      disks: [disk],
      diskInterface: 'scsi',
      netns: ns,
      tap: { ifname: 'mmtap0', mac: '52:54:00:77:05:01' },
      // beep_incessantly never ends: QEMU is stopped once PID 1 beeps (the master unmounted /a before).
      until: /Reboot me already!|si-agent shell #|Kernel panic|reboot: /,
      timeoutMs: 540_000,
    });
    const why = `serial log:\n${tailOf(r.log, 100)}\n--- flamethrower ---\n${tailOf(lab!.log('flamethrowerd'), 20)}`;
    console.log(`boot master ${M} (multicast): /init after ${r.initSeconds} s, beeping after ${r.seconds} s`);
    expect(r.log, why).toMatch(/Reboot me already!/);
    const addr = new RegExp(`DHCP: ACK on \\S+: (${esc(NET)}\\.1\\d\\d)/24`).exec(r.log)?.[1];
    expect(addr, why).toBeDefined();
    // The master's own disk enumeration (its logmsg on the console).
    expect(r.log, why).toMatch(/DISK0=\/dev\/sda\b/);
    expect(r.log, why).not.toMatch(/si-agent shell #|Kernel panic/);
    // The master's first override has no module: a warning naming it, and the install goes on.
    expect(r.log, why).toMatch(/WARNING: [^\n]*override_msdos-autodetect-multicast/);
    // The rsync daemon served no image, only heard imaging_complete from the leased address.
    const rlog = readFileSync(server.logFile, 'utf8');
    expect(rlog).not.toMatch(new RegExp(`rsync on ${esc(server.imageName)}/`));
    expect(rlog).toMatch(new RegExp(`rsync on scripts/imaging_complete_${esc(addr!)} from`));
    const st = monitorStatuses(monitorFile);
    console.log(`boot master ${M}: monitor statuses ${st.join(' ')}`);
    expect(st[0], readFileSync(monitorFile, 'utf8')).toBe(0);
    expect(st).toContain(101);
    expect(st).toContain(100);
    expect(st.at(-1)).toBe(103);
    expect(st).not.toContain(-1);

    expect(sh('blkid', ['-o', 'value', '-s', 'PTTYPE', disk]).trim()).toBe('dos');
    expect(sh('sfdisk', ['--part-type', disk, '1']).trim()).toBe('82');
    expect(sh('sfdisk', ['--part-type', disk, '2']).trim()).toBe('83');
    const root = reader.mount(disk, dir, 2);
    expectInstalled(root, server, /^msdos-autodetect-multicast hand-edited: DISK0=\/dev\/sda\n$/);
    expect(readFileSync(join(root, 'etc/fstab'), 'utf8')).toMatch(/^\/dev\/sda2\s+\/\s+ext4/m);
    expect(readFileSync(join(root, 'etc/fstab.image'), 'utf8')).toMatch(/^\/dev\/hda2\s+\/\s+ext4/m);
    // The install log the master kept: its commands traced, the multicast handed to the agent module by module.
    const log = readFileSync(join(root, 'root/si.log'), 'utf8');
    expect(log).toMatch(traced(M, /^sfdisk --change-id \$DISK0 1 82/, 'sfdisk --change-id /dev/sda 1 82'));
    expect(log).toMatch(traced(M, /^flamethrower_client$/, 'flamethrower_client'));
    expect(log).toMatch(new RegExp(`si-agent-call flamethrower ${esc(server.imageName)} /a 7 y`));
    for (const o of server.overrides) expect(log).toMatch(new RegExp(`si-agent-call flamethrower override_${o} /a 7 y`));
    expect(log).toMatch(traced(M, /^        sed -e "s:\/dev\/hda:\$DISK0:g"/, 'sed -e s:/dev/hda:/dev/sda:g /a/etc/fstab.image'));
  }, 600_000);
});

describe.skipIf(btReason !== null)('boot, run mode over BitTorrent: gpt-bittorrent.master with opentracker and aria2c', () => {
  const M = 'gpt-bittorrent.master';
  const NET = 201;
  const TAP = 'btmtap0';
  let dir = '';
  let pkg: PackageResult;
  let bt: BtLab | undefined;
  let lab: Lab | undefined;
  let server: ImageServerInfo;
  let monitorFile = '';
  let imageBytes = 0;
  const reader = new DiskReader();

  beforeAll(async () => {
    ({ dir, pkg } = await testPackage());
    bt = createBtLab('m', NET, 0);
    lab = createLab('btm-boot'); // its temp dir and daemon logs; the namespace is the BitTorrent lab's
    server = await makeImageServer(join(bt.dir, 'server'));
    copyFileSync(join(MASTERS, M), join(server.scriptsDir, 'node001.master'));
    nameLeasesNode001(server, `10.99.${NET}`);
    sh('ip', ['-n', bt.srv, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap']);
    sh('ip', ['-n', bt.srv, 'link', 'set', TAP, 'master', 'btmbr']);
    sh('ip', ['-n', bt.srv, 'link', 'set', TAP, 'up']);
    await startDnsmasq(lab, bt.srv, 'dnsmasq', 'btmbr', { net: `10.99.${NET}` }, [`140,${bt.serverIp}`, '144,no']);
    const torrents = join(server.dir, 'torrents');
    mkdirSync(torrents);
    // The image tarball leaves out what the image rsync excludes: a master unpacks it over /a with /a/proc mounted.
    const tarball = join(torrents, `image-${server.imageName}.tar.gz`);
    execFileSync('tar', ['-czSpf', tarball, '--exclude=./lost+found', '--exclude=./proc/*', '.'], { cwd: server.imageDir, stdio: 'ignore' });
    execFileSync('mktorrent', ['-a', bt.trackerUrl, '-l', '18', '-o', `${tarball}.torrent`, tarball], { stdio: 'ignore' });
    const imageHash = /Info Hash: ([0-9a-f]{40})/.exec(sh('aria2c', ['-S', `${tarball}.torrent`]))![1]!;
    imageBytes = Number(sh('stat', ['-c', '%s', tarball]).trim());
    const overrides = server.overrides.map((o) => makeTorrent(join(server.overridesDir, o), torrents, `override-${o}`, bt!.trackerUrl, false));
    bt.startTracker([imageHash, ...overrides.map((m) => m.infoHash)]);
    bt.countUploads();
    [`${tarball}.torrent`, ...overrides.map((m) => m.torrent)].forEach((t, i) => bt!.startSeeder(`seeder${i}`, t, torrents, { port: 6881 + i }));
    const conf = readFileSync(server.rsyncdConf, 'utf8').replace('address = 127.0.0.1', `address = ${bt.serverIp}`);
    writeFileSync(server.rsyncdConf, `${conf}\n[torrents]\n  path = ${torrents}\n  comment = torrents\n`);
    await startNsRsyncd(lab, bt.srv, server, bt.serverIp);
    monitorFile = await startMonitor(lab, bt.srv, bt.serverIp);
    await waitFor(() => /:6884 /.test(bt!.exec(bt!.srv, ['ss', '-ltn'])), 10_000, `aria2c: ${bt.log('seeder3')}`);
  }, 300_000);

  afterAll(async () => {
    reader.release();
    await lab?.cleanup(); // dnsmasq, rsyncd, the monitor socat
    bt?.cleanup(); // tracker, seeders, QEMU if still there, the namespace with its bridge and tap
  });

  it('stages the image with bittorrent_get_file, unpacks it with tar -xzSpf, overrides likewise, bittorrent_stop, then 104 and the reboot', async () => {
    const disk = blankDisk(dir, 600);
    const r = await bootQemu({
      workDir: dir,
      kernel: join(pkg.dir, 'kernel'),
      initrd: join(pkg.dir, 'initrd.img'),
      append: `console=ttyS0 panic=-1 ${words} BITTORRENT=y MONITOR_SERVER=${bt!.serverIp}`,
      disks: [disk],
      diskInterface: 'scsi',
      netns: bt!.srv,
      tap: { ifname: TAP, mac: '52:54:00:5a:c9:01' },
      until: /reboot: Restarting system|reboot: Power down|si-agent shell #|Kernel panic/,
      timeoutMs: 540_000,
    });
    const why = `serial log:\n${tailOf(r.log, 100)}\n--- seeder ---\n${tailOf(bt!.log('seeder0'), 20)}`;
    console.log(`boot master ${M} (BitTorrent): /init after ${r.initSeconds} s, rebooting after ${r.seconds} s`);
    expect(r.log, why).toMatch(/reboot: Restarting system/);
    expect(r.log, why).not.toMatch(/si-agent shell #|Kernel panic/);
    const image = `image-${server.imageName}.tar.gz`;
    const staging = /Staging image-\S+ in (\S+)/.exec(r.log)?.[1] ?? '';
    expect(staging, why).not.toBe('');
    expect(r.log, why).toMatch(/no torrent for override gpt-bittorrent \(that may be fine\)/);
    // rsyncd served scripts and torrents, never the image; the seeders sent at least the image tarball.
    const rlog = readFileSync(server.logFile, 'utf8');
    expect(rlog).toMatch(/rsync on torrents\/ from/);
    expect(rlog).not.toMatch(new RegExp(`rsync on ${esc(server.imageName)}/ `));
    expect(bt!.uploadedBytes()).toBeGreaterThanOrEqual(imageBytes);
    const st = monitorStatuses(monitorFile);
    console.log(`boot master ${M}: monitor statuses ${st.join(' ')}`);
    expect(st[0], readFileSync(monitorFile, 'utf8')).toBe(0);
    expect(st).toContain(101);
    expect(st).toContain(100);
    expect(st.at(-1)).toBe(104);
    expect(st).not.toContain(-1);

    expect(sh('blkid', ['-o', 'value', '-s', 'PTTYPE', disk]).trim()).toBe('gpt');
    const root = reader.mount(disk, dir, 2);
    expectInstalled(root, server, new RegExp(`^gpt-bittorrent hand-edited: staged in ${esc(staging)}\\n$`));
    expect(readFileSync(join(root, 'etc/fstab'), 'utf8')).toMatch(/^LABEL=root\s+\/\s+xfs/m);
    expect(existsSync(join(root, 'tmp', image))).toBe(false);
    // The install log the master kept: the staging, the tar it runs itself, the peer stopped.
    const log = readFileSync(join(root, 'root/si.log'), 'utf8');
    expect(log).toMatch(traced(M, /^bittorrent_get_file \$TORRENTS_DIR\/\$IMAGE_TARBALL/, `bittorrent_get_file /torrents/${image}.torrent ${staging}`));
    expect(log).toMatch(traced(M, /^tar -x\$\{VERBOSE_OPT\}\$\{TAR_Z\}Spf \$BITTORRENT_STAGING\/\$IMAGE_TARBALL/, `tar -xzSpf ${staging}/${image} -C /a/`));
    for (const o of server.overrides) expect(log).toMatch(traced(M, /^    tar -x\$\{VERBOSE_OPT\}\$\{TAR_Z\}Spf \$BITTORRENT_STAGING\/\$OVERRIDE_TARBALL/, `tar -xSpf ${staging}/override-${o}.tar -C /a/`));
    expect(log).toMatch(traced(M, /^bittorrent_stop$/, 'bittorrent_stop'));
    expect(log).toMatch(traced(M, /^mkfs\.xfs /, 'mkfs.xfs -f -q /dev/sda2'));
    expect(log).toMatch(traced(M, /^xfs_admin /, 'xfs_admin -L root /dev/sda2'));
    const loop = sh('findmnt', ['-n', '-o', 'SOURCE', root]).trim();
    expect(sh('blkid', ['-o', 'value', '-s', 'LABEL', loop]).trim()).toBe('root');
    expect(sh('blkid', ['-o', 'value', '-s', 'TYPE', loop]).trim()).toBe('xfs');
  }, 600_000);
});
