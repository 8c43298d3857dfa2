// System test (root: network namespaces, a bridge, loop devices, tc, nftables counters; real opentracker, aria2c,
// mktorrent, GNU tar, rsyncd): BitTorrent at the size of a real image. A tarball of over 200 MB (the fixture image and
// 208 MB that nothing can compress), three clients installing at once from an uncapped aria2c seeder: each finishes
// with the payload exact, and the seeder sends at most two image sizes because the clients trade the rest. Then a
// client stopped with SIGTERM in the middle of its download: it stops, reports what came from where, and leaves no
// process, mount or staged tarball behind.

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { attachLoop, type Loop } from './lib/loops.js';
import { createBtLab, makeTorrent, type BtLab } from './lib-net/bt-lab.js';
import { serveTorrentsModule, tearDown, waitListening, btInstall, btLogs, readEvents } from './lib-net/bt-install.js';

const SEEDER_PORT = 6881;
const PAYLOAD_FILES = 8;
const PAYLOAD_MB = 26;
const LAYOUT = `<config>
  <disk dev="/dev/sda" label_type="gpt" unit_of_measurement="MB">
    <part num="1" size="16" p_type="primary" p_name="swap" flags="-" />
    <part num="2" size="*" p_type="primary" p_name="root" flags="-" />
  </disk>
  <fsinfo line="10" real_dev="/dev/sda2" mount_dev="LABEL=root" mp="/" fs="ext4" options="defaults" dump="1" pass="1" />
  <fsinfo line="20" real_dev="/dev/sda1" mp="swap" fs="swap" options="defaults" dump="0" pass="0" />
</config>
`;

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 });

let work = '';
let lab: BtLab;
let server: ImageServerInfo;
let imageSize = 0;
const digests = new Map<string, string>();
const loops: Loop[] = [];
const mounted: string[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'si-bt-large-'));
  server = await makeImageServer(join(work, 'server'));
  const payload = join(server.imageDir, 'opt', 'payload');
  mkdirSync(payload, { recursive: true });
  for (let i = 0; i < PAYLOAD_FILES; i++) {
    const data = randomBytes(PAYLOAD_MB << 20);
    writeFileSync(join(payload, `part${i}.bin`), data);
    digests.set(`opt/payload/part${i}.bin`, createHash('sha256').update(data).digest('hex'));
  }
  lab = createBtLab('L', 3, 4);
  appendFileSync(join(server.scriptsDir, 'hosts'), lab.clients.map((c) => `${c.ip} node001.cluster node001\n`).join(''));
  writeFileSync(join(server.scriptsDir, 'disks-layouts', 'node001.xml'), LAYOUT);
  // The image as an uncompressed tarball, as SystemImager makes `image-NAME.tar` (no overrides as torrents here).
  const torrentsDir = join(server.dir, 'torrents');
  mkdirSync(torrentsDir);
  const made = makeTorrent(server.imageDir, torrentsDir, `image-${server.imageName}`, lab.trackerUrl, false);
  imageSize = statSync(made.tarball).size;
  lab.startTracker([made.infoHash]);
  lab.countUploads();
  lab.startSeeder('seeder', made.torrent, torrentsDir, { port: SEEDER_PORT });
  serveTorrentsModule(lab, server.rsyncdConf, torrentsDir);
  await waitListening(lab, SEEDER_PORT);
}, 180_000);

afterAll(() => tearDown(mounted, loops, lab, work));

describe('BitTorrent at the size of a real image', () => {
  it('three clients install a tarball of over 200 MB at once; each payload is exact and the seeder sends at most 2 image sizes', async () => {
    expect(imageSize).toBeGreaterThan(200 << 20);
    const runs = await Promise.all(
      lab.clients.slice(0, 3).map(async (c, i) => {
        const dir = join(work, `client${i + 1}`);
        const loop = attachLoop(work, `disk${i + 1}`, 560);
        loops.push(loop);
        const r = await btInstall(lab, c, 'BITTORRENT_SEED_WAIT=y BITTORRENT_UPLOAD_MIN=50 BITTORRENT_POLLING_TIME=1', loop.dev, dir, { limitMs: 420_000 });
        return { r, loop, dir, c };
      }),
    );
    const sent = lab.uploadedBytes();
    for (const { r, loop, dir, c } of runs) {
      expect(r.code, `${c.ns}:\n${r.out.slice(-4000)}`).toBe(0);
      const progress = r.events.filter((e) => e.type === 'progress' && e.phase === 'image');
      expect(progress.at(-1)).toMatchObject({ percent: 100, bytesTotal: imageSize });
      const mnt = join(dir, 'check');
      mkdirSync(mnt, { recursive: true });
      sh('mount', ['-o', 'ro', `${loop.dev}p2`, mnt]);
      mounted.unshift(mnt);
      for (const [rel, digest] of digests) expect(createHash('sha256').update(readFileSync(join(mnt, rel))).digest('hex'), `${c.ns} ${rel}`).toBe(digest);
      sh('umount', [mnt]);
      mounted.splice(mounted.indexOf(mnt), 1);
      expect(readdirSync(join(dir, 'tmp')).filter((f) => f.includes('.tar'))).toEqual([]);
      // Only the torrent came over rsync, not the tarball beside it in the torrents module.
      expect(readdirSync(join(dir, 'work', 'torrents')).sort()).toEqual(['.fetched', `image-${server.imageName}.tar.torrent`]);
      // What came from where, counted as it arrived: together at least the tarball.
      const summary = btLogs(r).find((m) => /^BitTorrent: .* downloaded from the image server/.test(m));
      expect(summary, r.out.slice(-2000)).toBeDefined();
    }
    expect(sent, `seeder sent ${sent} bytes for an image of ${imageSize}`).toBeLessThanOrEqual(2 * imageSize);
  }, 480_000);

  it('SIGTERM in the middle of the download: the agent stops, reports the bytes from each source, and leaves nothing running', async () => {
    const c = lab.clients[3]!;
    // A slow link, so the download is still under way when the signal comes.
    lab.shapeLink(c, 40);
    const dir = join(work, 'sigterm');
    const loop = attachLoop(work, 'disk-sigterm', 560);
    loops.push(loop);
    let signalled = false;
    const r = await btInstall(lab, c, '', loop.dev, dir, {
      onSpawn: (child, events) => {
        const poll = setInterval(() => {
          const p = readEvents(events).filter((e) => e.type === 'progress' && e.phase === 'image');
          if (p.some((e) => Number(e.bytesDone) > 20 << 20)) {
            clearInterval(poll);
            signalled = true;
            // The agent itself, not `ip netns exec` (which execs it: the same process).
            child.kill('SIGTERM');
          }
        }, 200);
        child.once('close', () => clearInterval(poll));
      },
    });
    expect(signalled, r.out.slice(-3000)).toBe(true);
    expect(r.code, r.out.slice(-3000)).toBe(1);
    const logs = btLogs(r);
    expect(logs).toContain('received SIGTERM: stopping');
    const summary = logs.find((m) => /^BitTorrent: .* downloaded from the image server/.test(m));
    expect(summary, r.out.slice(-3000)).toBeDefined();
    const fromServer = /^BitTorrent: ([\d.]+) (\w+) downloaded from the image server/.exec(summary!)!;
    const unit: Record<string, number> = { B: 1, KiB: 1024, MiB: 1 << 20, GiB: 1 << 30, KB: 1e3, MB: 1e6, GB: 1e9 };
    expect(Number(fromServer[1]) * (unit[fromServer[2]!] ?? NaN)).toBeGreaterThan(20 << 20);
    // Nothing left: no process in the client's namespace, no mount of its disk, no staged tarball.
    expect(execFileSync('ip', ['netns', 'pids', c.ns], { encoding: 'utf8' }).trim()).toBe('');
    expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(loop.dev);
    expect(existsSync(join(dir, 'tmp')) ? readdirSync(join(dir, 'tmp')).filter((f) => f.includes('.tar')) : []).toEqual([]);
  }, 240_000);
});
