// System test (root: namespaces, loop devices, real opentracker, aria2c, rsyncd, GNU tar): `si-agent publish` (the bundled
// agent) on the fixture image server. The same tree published twice gives the same bytes of every file; a changed file
// repacks only its image; the image's .tar.zst extracts to the image; the .torrent files it writes install through the
// agent's BitTorrent transport (one client); the multicast .sha256/.size are what the agent's multicast path checks
// (checked at unit level against publishedDigest/publishedSize and GNU tar's cast stream: a full cast is left to the
// multicast test); bad input (a missing image, an unreadable file) is named, exit 2.

import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, createReadStream, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { compareTrees } from '../helpers/compare-trees.js';
import { AGENT, runAgent } from './lib/agent.js';
import { attachLoop, type Loop } from './lib/loops.js';
import { createBtLab, type BtLab } from './lib-net/bt-lab.js';
import { btInstall, serveTorrentsModule, tearDown, waitListening } from './lib-net/bt-install.js';
import { publishedDigest, publishedSize } from '../../agent/steps/multicast-extras.js';
import { extractTar } from '../../agent/transport/tar/extract.js';
import { createRunner } from '../../agent/exec/runner.js';
import { parseTorrentMeta } from '../../agent/transport/bittorrent/meta.js';

const LAYOUT = `<config>
  <disk dev="/dev/sda" label_type="gpt" unit_of_measurement="MB">
    <part num="1" size="32" p_type="primary" p_name="swap" flags="-" />
    <part num="2" size="*" p_type="primary" p_name="root" flags="-" />
  </disk>
  <fsinfo line="10" real_dev="/dev/sda2" mount_dev="LABEL=root" mp="/" fs="ext4" options="defaults" dump="1" pass="1" />
  <fsinfo line="20" real_dev="/dev/sda1" mp="swap" fs="swap" options="defaults" dump="0" pass="0" />
</config>
`;
const ADDED = ['etc/fstab', 'etc/hostname', 'etc/hosts', 'etc/systemimager/IMAGE_LAST_SYNCED_TO', 'var/log', 'root/post-install-ran', 'root/post-install-order', 'lost+found'];
const TOUCHED_DIRS = new Set(['.', 'etc', 'etc/systemimager', 'root', 'var', 'tmp']);
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 });

let work = '';
let server: ImageServerInfo;
let lab: BtLab;
let key = '';
const loops: Loop[] = [];
const mounted: string[] = [];

const publishArgs = (out: string, extra: string[] = []) => [
  'publish', '--images', join(server.dir, 'images'), '--overrides', server.overridesDir, '--scripts', server.scriptsDir, '--out', out,
  '--torrents', lab.trackerUrl, '--multicast', '--sign-key', key, ...extra,
];

/** Every file of a publish tree but the manifest and its signature (times of this publish), as path -> sha256. */
function treeDigests(out: string): Map<string, string> {
  const m = new Map<string, string>();
  const walk = (rel: string) => {
    for (const n of readdirSync(join(out, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${n.name}` : n.name;
      if (n.isDirectory()) walk(r);
      else if (!r.startsWith('manifest.json')) m.set(r, createHash('sha256').update(readFileSync(join(out, r))).digest('hex'));
    }
  };
  walk('');
  return m;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'si-publish-sys-'));
  server = await makeImageServer(join(work, 'server'));
  // A second image: the changed-file case must leave this one alone.
  sh('rsync', ['-aHAXS', '--numeric-ids', `${server.imageDir}/`, join(server.dir, 'images', 'second') + '/']);
  lab = createBtLab('p', 7, 1);
  appendFileSync(join(server.scriptsDir, 'hosts'), lab.clients.map((c) => `${c.ip} node001.cluster node001\n`).join(''));
  writeFileSync(join(server.scriptsDir, 'disks-layouts', 'node001.xml'), LAYOUT);
  key = join(work, 'publish.key');
  const g = await runAgent(['publish', '--gen-key', key]);
  expect(g.code, g.stderr).toBe(0);
  expect(g.stdout).toMatch(/fingerprint SHA256:[A-Za-z0-9+/]{43}/);
}, 120_000);

afterAll(() => tearDown(mounted, loops, lab, work));

describe('si-agent publish on the fixture image server', () => {
  it('the same tree twice gives the same bytes of every artefact; the image archive extracts to the image', async () => {
    const a = await runAgent(publishArgs(join(work, 'out1')));
    expect(a.code, a.stderr).toBe(0);
    const b = await runAgent(publishArgs(join(work, 'out2')));
    expect(b.code, b.stderr).toBe(0);
    const da = treeDigests(join(work, 'out1'));
    expect([...da.keys()]).toEqual(expect.arrayContaining([`images/${server.imageName}.tar.zst`, 'images/second.tar.zst', 'overrides/global_ovr.tar.zst', 'scripts.tar.zst',
      `torrents/image-${server.imageName}.tar.gz`, `torrents/image-${server.imageName}.tar.gz.torrent`, 'torrents/override-node001.tar.gz.torrent', 'torrents/whitelist.txt',
      `scripts-extra/${server.imageName}.sha256`, `scripts-extra/${server.imageName}.size`, 'scripts-extra/override_compute.sha256']));
    expect(da).toEqual(treeDigests(join(work, 'out2')));
    // The image as the agent's extractor lays it down: the image less SPEC 7's excludes, xattrs and ACLs kept.
    const dest = join(work, 'extracted');
    const m = JSON.parse(readFileSync(join(work, 'out1/manifest.json'), 'utf8'));
    const art = m.artefacts.find((x: { path: string }) => x.path === `images/${server.imageName}.tar.zst`);
    await extractTar({ run: createRunner(null) }, createReadStream(join(work, 'out1', art.path)), dest, { expectSha256: art.sha256 });
    expect(await compareTrees(server.imageDir, dest, { ignore: server.excludedPaths })).toEqual([]);
  }, 120_000);

  it('a changed file repacks only that image, its torrent and its cast digest', async () => {
    const before = treeDigests(join(work, 'out1'));
    writeFileSync(join(server.dir, 'images/second/etc/changed'), 'changed\n');
    const r = await runAgent(publishArgs(join(work, 'out1')));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^images\/second\.tar\.zst: packed/m);
    expect(r.stderr).toMatch(new RegExp(`^images/${server.imageName}\\.tar\\.zst: unchanged`, 'm'));
    expect(r.stderr).toMatch(/^scripts\.tar\.zst: unchanged/m);
    expect(r.stderr.match(/: packed/g)).toHaveLength(1);
    const after = treeDigests(join(work, 'out1'));
    // second.size is rewritten too, but GNU tar's 10 KiB records may keep the same count for a small file.
    const changed = [...after.keys()].filter((k) => after.get(k) !== before.get(k) && k !== 'scripts-extra/second.size').sort();
    expect(changed).toEqual(['images/second.tar.zst', 'scripts-extra/.tree-second', 'scripts-extra/second.sha256', 'torrents/image-second.tar.gz', 'torrents/image-second.tar.gz.torrent', 'torrents/whitelist.txt']);
  }, 120_000);

  it('the multicast files hold what the agent checks a cast against (GNU tar -B -S -cpf - -C DIR ., as flamethrowerd casts)', () => {
    const extra = join(work, 'out1/scripts-extra');
    const cast = sh('tar', ['-B', '-S', '-cpf', '-', '-C', server.imageDir, '.']);
    expect(publishedDigest(extra, server.imageName)).toBe(createHash('sha256').update(cast).digest('hex'));
    expect(publishedSize(extra, server.imageName, () => undefined)).toBe(cast.length);
    const ovr = sh('tar', ['-B', '-S', '-cpf', '-', '-C', join(server.overridesDir, 'compute'), '.']);
    expect(publishedDigest(extra, 'override_compute')).toBe(createHash('sha256').update(ovr).digest('hex'));
  });

  it('the torrents install through the agent\'s BitTorrent transport (opentracker with the whitelist, aria2c seeding)', async () => {
    const torrents = join(work, 'out1/torrents');
    const hashes = readFileSync(join(torrents, 'whitelist.txt'), 'utf8').trim().split('\n');
    const t = parseTorrentMeta(readFileSync(join(torrents, `image-${server.imageName}.tar.gz.torrent`)), 'image torrent');
    expect(hashes).toContain(t.infoHash);
    expect(t.trackers).toEqual([lab.trackerUrl]);
    lab.startTracker(hashes);
    const names = readdirSync(torrents).filter((f) => f.endsWith('.torrent'));
    names.forEach((f, i) => lab.startSeeder(`seed${i}`, join(torrents, f), torrents, { port: 6881 + i }));
    serveTorrentsModule(lab, server.rsyncdConf, torrents);
    await waitListening(lab, 6881);
    const expected = join(work, 'expected');
    mkdirSync(expected);
    sh('rsync', ['-aHAXS', '--numeric-ids', '--exclude=lost+found/', '--exclude=/proc/*', `${server.imageDir}/`, `${expected}/`]);
    for (const o of server.overrides) sh('rsync', ['-aHAXS', '--numeric-ids', '--ignore-times', `${server.overridesDir}/${o}/`, `${expected}/`]);
    const dir = join(work, 'client');
    const loop = attachLoop(work, 'disk1', 300);
    loops.push(loop);
    const r = await btInstall(lab, lab.clients[0]!, '', loop.dev, dir);
    expect(r.code, r.out.slice(-4000)).toBe(0);
    const mnt = join(dir, 'check');
    mkdirSync(mnt, { recursive: true });
    sh('mount', ['-o', 'ro', `${loop.dev}p2`, mnt]);
    mounted.unshift(mnt);
    const diffs = (await compareTrees(expected, mnt, { ignore: ADDED })).filter((d) => {
      const m = /^(.*): mtime \d+ != \d+$/.exec(d);
      return !(m && TOUCHED_DIRS.has(m[1]!));
    });
    expect(diffs).toEqual([]);
    expect(r.events.some((e) => e.type === 'transport' && e.transport === 'bittorrent')).toBe(true);
  }, 240_000);

  it('bad input is named: a missing image, an unreadable file (as nobody), exit 2', async () => {
    const r = await runAgent(publishArgs(join(work, 'out3'), ['--image', 'nope']));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(server.dir, 'images/nope')} does not exist`);
    // Root reads everything: the unreadable case runs the agent as nobody over a small tree it may traverse.
    const open = mkdtempSync(join(tmpdir(), 'si-publish-nobody-'));
    try {
      for (const d of ['images/img', 'overrides', 'scripts', 'out']) mkdirSync(join(open, d), { recursive: true });
      chmodSync(open, 0o755);
      writeFileSync(join(open, 'images/img/secret'), 'x');
      chmodSync(join(open, 'images/img/secret'), 0o000);
      sh('chown', ['-R', 'nobody', join(open, 'out')]);
      const p = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, AGENT, 'publish', '--images', join(open, 'images'), '--overrides', join(open, 'overrides'), '--scripts', join(open, 'scripts'), '--out', join(open, 'out')], { encoding: 'utf8' });
      expect(p.status, p.stderr).toBe(2);
      expect(p.stderr).toContain(`${join(open, 'images/img/secret')} cannot be read (permission denied)`);
      expect(readdirSync(join(open, 'out'))).toEqual([]);
    } finally {
      rmSync(open, { recursive: true, force: true });
    }
  }, 60_000);
});
