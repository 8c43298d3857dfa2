// System test (root: network namespaces, a bridge, loop devices, nftables counters; real opentracker, aria2c, mktorrent,
// GNU tar, rsyncd): the BitTorrent transport against non-JS peers. Three clients in their own namespaces install at once
// onto loop devices from torrents made as SystemImager makes them, with the seeder's upload capped so that clients must
// feed each other; then staging autodetect, a hostile peer serving corrupt pieces, and the tracker down.

import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { compareTrees } from '../helpers/compare-trees.js';
import { attachLoop, type Loop } from './lib/loops.js';
import { createBtLab, makeTorrent, trackerPeers, type BtClient, type BtLab } from './lib-net/bt-lab.js';
import { serveTorrentsModule, tearDown, waitListening, btInstall, btLogs } from './lib-net/bt-install.js';
import { parseTorrentMeta } from '../../agent/transport/bittorrent/meta.js';

const NET = 1;
const SEEDER_PORT = 6881;
const LAYOUT = `<config>
  <disk dev="/dev/sda" label_type="gpt" unit_of_measurement="MB">
    <part num="1" size="32" p_type="primary" p_name="swap" flags="-" />
    <part num="2" size="*" p_type="primary" p_name="root" flags="-" />
  </disk>
  <fsinfo line="10" real_dev="/dev/sda2" mount_dev="LABEL=root" mp="/" fs="ext4" options="defaults" dump="1" pass="1" />
  <fsinfo line="20" real_dev="/dev/sda1" mp="swap" fs="swap" options="defaults" dump="0" pass="0" />
</config>
`;
/** What the install adds to the image on purpose (as in install.test.ts). */
const ADDED = ['etc/fstab', 'etc/hostname', 'etc/hosts', 'etc/systemimager/IMAGE_LAST_SYNCED_TO', 'var/log', 'root/post-install-ran', 'root/post-install-order', 'lost+found'];
const TOUCHED_DIRS = new Set(['.', 'etc', 'etc/systemimager', 'root', 'var', 'tmp']);

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 });

let work = '';
let lab: BtLab;
let server: ImageServerInfo;
let expected = '';
let imageSize = 0;
let torrentsDir = '';
let dataDir = '';
let imageTorrent = '';
const loops: Loop[] = [];
const mounted: string[] = [];

/** Runs `si-agent install` inside a client namespace onto its own loop device. */
const installIn = (c: BtClient, words: string, disk: string, dir: string, env: NodeJS.ProcessEnv = {}) => btInstall(lab, c, words, disk, dir, { env });
const logs = btLogs;

/** Mounts a client's root partition read-only and compares it with the expected tree; returns the differences. */
async function checkInstalled(loop: Loop, dir: string): Promise<{ diffs: string[]; mnt: string }> {
  const mnt = join(dir, 'check');
  mkdirSync(mnt, { recursive: true });
  sh('mount', ['-o', 'ro', `${loop.dev}p2`, mnt]);
  mounted.unshift(mnt);
  const diffs = (await compareTrees(expected, mnt, { ignore: ADDED })).filter((d) => {
    const m = /^(.*): mtime \d+ != \d+$/.exec(d);
    return !(m && TOUCHED_DIRS.has(m[1]!));
  });
  return { diffs, mnt };
}

function unmount(mnt: string): void {
  sh('umount', [mnt]);
  mounted.splice(mounted.indexOf(mnt), 1);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'si-bt-test-'));
  server = await makeImageServer(join(work, 'server'));
  // 24 MB that gzip cannot shrink: about a hundred 256 KiB pieces for the clients to trade.
  writeFileSync(join(server.imageDir, 'opt-payload.bin'), randomBytes(24 << 20));
  lab = createBtLab('t', NET, 3);
  appendFileSync(join(server.scriptsDir, 'hosts'), lab.clients.map((c) => `${c.ip} node001.cluster node001\n`).join(''));
  writeFileSync(join(server.scriptsDir, 'disks-layouts', 'node001.xml'), LAYOUT);
  expected = join(work, 'expected');
  mkdirSync(expected);
  // GNU tar -czSpf keeps no xattrs or ACLs; the expected tree has none either.
  sh('rsync', ['-aHS', '--numeric-ids', '--exclude=lost+found/', '--exclude=/proc/*', `${server.imageDir}/`, `${expected}/`]);
  for (const o of server.overrides) sh('rsync', ['-aHS', '--numeric-ids', '--ignore-times', `${server.overridesDir}/${o}/`, `${expected}/`]);
  // The torrents module as SystemImager lays it out: image-NAME.tar.gz(.torrent), override-NAME.tar(.torrent); the host
  // override node001 has no torrent (it comes over rsync). The tarballs live beside the torrents for the seeder.
  torrentsDir = join(server.dir, 'torrents');
  dataDir = torrentsDir;
  mkdirSync(torrentsDir);
  const made = [
    makeTorrent(server.imageDir, torrentsDir, `image-${server.imageName}`, lab.trackerUrl, true),
    makeTorrent(join(server.overridesDir, 'global_ovr'), torrentsDir, 'override-global_ovr', lab.trackerUrl, true),
    makeTorrent(join(server.overridesDir, 'compute'), torrentsDir, 'override-compute', lab.trackerUrl, false),
  ];
  imageSize = statSync(made[0]!.tarball).size;
  imageTorrent = made[0]!.torrent;
  lab.startTracker(made.map((m) => m.infoHash));
  // The first seeder: aria2c in the server namespace, its upload capped at 3 MB/s so the clients feed each other.
  lab.countUploads();
  made.forEach((m, i) => lab.startSeeder(`seeder${i}`, m.torrent, dataDir, { port: SEEDER_PORT + i, uploadLimit: i === 0 ? 3 << 20 : 0 }));
  serveTorrentsModule(lab, server.rsyncdConf, torrentsDir);
  // A monitor stand-in in the server namespace: every message the clients send, appended to one file.
  spawn('ip', ['netns', 'exec', lab.srv, 'socat', '-u', `TCP-LISTEN:8181,bind=${lab.serverIp},fork,reuseaddr`, `OPEN:${join(work, 'monitor.log')},creat,append`], { stdio: 'ignore', detached: true }).unref();
  // aria2c checks its data (-V) before it announces: wait for its listener.
  await waitListening(lab, SEEDER_PORT);
}, 120_000);

afterAll(() => tearDown(mounted, loops, lab, work));

describe('BitTorrent install from opentracker and an aria2c seeder', () => {
  it('three clients at once each install the image and overrides exactly; the seeder sends under 3 image sizes', async () => {
    const runs = await Promise.all(
      lab.clients.map(async (c, i) => {
        const dir = join(work, `client${i + 1}`);
        const loop = attachLoop(work, `disk${i + 1}`, 300);
        loops.push(loop);
        const r = await installIn(c, `BITTORRENT_SEED_WAIT=y BITTORRENT_UPLOAD_MIN=50 BITTORRENT_POLLING_TIME=1 MONITOR_SERVER=${lab.serverIp} MONITOR_PORT=8181`, loop.dev, dir);
        return { r, loop, dir, c };
      }),
    );
    const sent = lab.uploadedBytes();
    for (const { r, loop, dir, c } of runs) {
      expect(r.code, `${c.ns}:\n${r.out.slice(-4000)}`).toBe(0);
      const { diffs, mnt } = await checkInstalled(loop, dir);
      expect(diffs, c.ns).toEqual([]);
      // global_ovr and compute came as torrents, node001 over rsync (no torrent: a warning says so).
      expect(readFileSync(join(mnt, 'etc/shared-gc'), 'utf8')).toBe('compute\n');
      expect(readFileSync(join(mnt, 'root/node001-only'), 'utf8')).toBe('host\n');
      expect(logs(r).some((m) => /override node001 has no torrent .*applied over rsync instead/.test(m))).toBe(true);
      // The staged tarballs are gone; nothing was staged on the target.
      expect(readdirSync(join(dir, 'tmp')).filter((f) => f.includes('.tar'))).toEqual([]);
      expect(existsSync(join(mnt, 'tmp', `image-${server.imageName}.tar.gz`))).toBe(false);
      unmount(mnt);
      expect(r.events.some((e) => e.type === 'transport' && e.transport === 'bittorrent')).toBe(true);
      const progress = r.events.filter((e) => e.type === 'progress' && e.phase === 'image');
      expect(progress.at(-1)).toMatchObject({ percent: 100, bytesTotal: imageSize });
      expect(String(progress.at(-1)!.extra)).toMatch(/^up \d+ KB\/s, \d+ peers?$/);
      expect(logs(r).some((m) => /^BitTorrent: .* downloaded from the image server, .* from other clients, .* uploaded/.test(m))).toBe(true);
    }
    // Peers fed each other: the seeder's TCP payload out is well under three image sizes, and clients uploaded.
    expect(sent, `seeder sent ${sent} bytes for an image of ${imageSize}`).toBeLessThan(3 * imageSize);
    const uploaded = runs.map(({ r }) => r.events.find((e) => e.type === 'transport' && /uploaded/.test(String(e.detail))));
    expect(uploaded.every(Boolean)).toBe(true);
    // The monitor heard the transport, the swarm figures while downloading, and the closing byte counts.
    const mon = readFileSync(join(work, 'monitor.log'), 'utf8');
    expect(mon).toMatch(/status=100/);
    expect(mon).toMatch(/transport=bittorrent/);
    expect(mon).toMatch(/bt_peers=\d+/);
    expect(mon).toMatch(/bt_up_kbs=\d+/);
    expect(mon).toMatch(/bt_from_server=\d+:bt_from_peers=\d+:bt_uploaded=\d+/);
  }, 240_000);
});

describe('BitTorrent staging, hostile peers and a tracker that is down', () => {
  it('the initrd /tmp is too small: the target /tmp is chosen, and the tarball is gone before the unmount', async () => {
    const dir = join(work, 'staging');
    const small = join(dir, 'small-tmp');
    mkdirSync(small, { recursive: true });
    sh('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', small]);
    mounted.unshift(small);
    const loop = attachLoop(work, 'disk-staging', 300);
    loops.push(loop);
    const r = await installIn(lab.clients[0]!, '', loop.dev, dir, { SI_TMP: small });
    expect(r.code, r.out.slice(-4000)).toBe(0);
    const sysroot = join(dir, 'sysroot');
    expect(logs(r).some((m) => m.includes(`staged in ${join(sysroot, 'tmp')},`)), logs(r).filter((m) => m.includes('staged')).join('\n')).toBe(true);
    const { diffs, mnt } = await checkInstalled(loop, dir);
    expect(diffs).toEqual([]);
    expect(readdirSync(join(mnt, 'tmp')).filter((f) => f.includes('.tar'))).toEqual([]);
    unmount(mnt);
  }, 120_000);

  it('no room anywhere: a clear error naming the sizes before anything is downloaded', async () => {
    const dir = join(work, 'noroom');
    const small = join(work, 'staging', 'small-tmp');
    const loop = attachLoop(work, 'disk-noroom', 300);
    loops.push(loop);
    const r = await installIn(lab.clients[1]!, `BITTORRENT_STAGING=${small}`, loop.dev, dir);
    expect(r.code, r.out.slice(-3000)).not.toBe(0);
    expect(r.out).toMatch(new RegExp(`no room for the BitTorrent tarball in BITTORRENT_STAGING=${small}: it needs 30\\.\\d MB \\+ 100\\.0 MB; ${small} has \\d+\\.\\d MB free`));
    expect(r.events.some((e) => e.type === 'progress' && e.phase === 'image')).toBe(false);
  }, 60_000);

  it('a peer serving corrupt pieces: they are rejected by hash and the install is still exact', async () => {
    // The hostile peer: aria2c seeding, unverified, a copy of the tarball with every piece damaged, so any piece the
    // client takes from it must be rejected (with one piece in 16 damaged, the client could take only good ones).
    const evil = lab.addPeer(1);
    const evilDir = join(work, 'evil');
    mkdirSync(evilDir);
    const tarball = readFileSync(join(dataDir, `image-${server.imageName}.tar.gz`));
    for (let off = 1000; off < tarball.length; off += 1 << 18) tarball[off] = tarball[off]! ^ 0xff;
    writeFileSync(join(evilDir, `image-${server.imageName}.tar.gz`), tarball);
    lab.startSeeder('evil', imageTorrent, evilDir, { ns: evil.ns, ip: evil.ip, port: 6991, unverified: true });
    // The client must hear of it from the tracker: wait until the tracker lists it.
    const infoHash = parseTorrentMeta(readFileSync(imageTorrent), imageTorrent).infoHash;
    let listed: string[] = [];
    for (let i = 0; i < 100 && !(listed = trackerPeers(lab, lab.srv, infoHash)).includes(`${evil.ip}:6991`); i++) await new Promise((res) => setTimeout(res, 200));
    expect(listed, lab.log('evil')).toContain(`${evil.ip}:6991`);
    const dir = join(work, 'hostile');
    const loop = attachLoop(work, 'disk-hostile', 300);
    loops.push(loop);
    const r = await installIn(lab.clients[1]!, '', loop.dev, dir);
    expect(r.code, r.out.slice(-4000)).toBe(0);
    const rejected = logs(r).filter((m) => new RegExp(`failed verification \\(hash mismatch\\) from ${evil.ip.replace(/\./g, "\\.")}: discarded and fetched again`).test(m));
    expect(rejected.length, `${r.out.slice(-3000)}\n${lab.log('evil')}`).toBeGreaterThan(0);
    expect(logs(r).some((m) => /piece\(s\) rejected by hash/.test(m))).toBe(true);
    const { diffs, mnt } = await checkInstalled(loop, dir);
    expect(diffs).toEqual([]);
    unmount(mnt);
  }, 120_000);

  it('the tracker is down: a clear error after bounded retries', async () => {
    lab.stopTracker();
    const dir = join(work, 'notracker');
    const loop = attachLoop(work, 'disk-notracker', 300);
    loops.push(loop);
    const r = await installIn(lab.clients[2]!, '', loop.dev, dir);
    expect(r.code, r.out.slice(-3000)).toBe(1);
    expect(r.out).toMatch(new RegExp(`reach the BitTorrent tracker ${lab.trackerUrl} for image-${server.imageName}\\.tar\\.gz failed after 8 attempts over [\\d.]+ s: .*ECONNREFUSED`));
    expect(r.events.filter((e) => e.type === 'retry' && /BitTorrent tracker/.test(String(e.what)))).toHaveLength(7);
    expect(r.events.some((e) => e.type === 'progress' && e.phase === 'image')).toBe(false);
  }, 120_000);
});
