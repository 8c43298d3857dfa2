// System test (root: network namespaces, loop devices; real nginx and openssl from Debian): the HTTP(S) transport. A
// publish tree made by si-agent publish from the fixture image (plus 40 MiB that zstd cannot shrink) is served by nginx
// in a server namespace; `si-agent install` runs in a client namespace onto a loop device. Installs over HTTP and over
// HTTPS with a private CA; nginx stopped mid-image and started again (a Range resume); Range off (the image starts
// again); a tampered image; manifests unsigned, signed by another key or truncated with MANIFEST_KEY (refused before
// any disk write); four installs through an nginx proxy_cache (the origin sends each artefact once).

import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { publishTree } from '../../agent/publish/publish.js';
import { installedTreeDiffs, buildExpectedTree } from '../helpers/expected-tree.js';
import { AGENT } from './lib/agent.js';
import { attachLoop, detachLoops, headHash, type Loop } from './lib/loops.js';
import { canRunNetTests, createLab, type Lab } from './lib-net/netns.js';
import { readEvents } from './lib-net/bt-install.js';
import { makeCertificates, makeNginx, type Nginx } from './lib-net/nginx.js';

const SRV_IP = '10.98.7.1';
const CLI_IP = '10.98.7.2';
const LAYOUT = `<config>
  <disk dev="/dev/sda" label_type="gpt" unit_of_measurement="MB">
    <part num="1" size="32" p_type="primary" p_name="swap" flags="-" />
    <part num="2" size="*" p_type="primary" p_name="root" flags="-" />
  </disk>
  <fsinfo line="10" real_dev="/dev/sda2" mount_dev="LABEL=root" mp="/" fs="ext4" options="defaults" dump="1" pass="1" />
  <fsinfo line="20" real_dev="/dev/sda1" mp="swap" fs="swap" options="defaults" dump="0" pass="0" />
</config>
`;
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

let lab: Lab;
let srv = '';
let cli = '';
let server: ImageServerInfo;
let tree = '';
let www = '';
let expected = '';
let key: KeyObject;
let keyB64 = '';
let fingerprint = '';
let imagePath = '';
let imageSize = 0;
let loop: Loop;
let certs: { ca: string; cert: string; key: string };
const sites: Record<string, Nginx> = {};

interface Run {
  code: number | null;
  out: string;
  events: Array<Record<string, unknown>>;
  logs: string[];
}

/** `si-agent install` in the client namespace onto the loop device; onEvents sees the events file while it runs. */
async function install(words: string, o: { onTick?: (events: Array<Record<string, unknown>>) => Promise<void> | void; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const dir = join(lab.dir, `run-${Date.now()}`);
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const events = join(dir, 'events.jsonl');
  const args = ['install', '--cmdline', `POST_ACTION=shutdown ${words}`, '--local-cfg', '/dev/null', '--disk', loop.dev,
    '--sysroot', join(dir, 'sysroot'), '--workdir', join(dir, 'work'), '--events', events, '--log', join(dir, 'si.log')];
  const env: NodeJS.ProcessEnv = { ...process.env, SI_TMP: join(dir, 'tmp'), SI_RETRY_SCALE: '0.5' };
  delete env.HTTP_PROXY;
  delete env.http_proxy;
  Object.assign(env, o.env);
  const child = spawn('ip', ['netns', 'exec', cli, process.execPath, AGENT, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  let running = true;
  const closed = new Promise<number | null>((r) => child.on('close', (c) => ((running = false), r(c))));
  if (o.onTick) while (running) {
    await o.onTick(readEvents(events));
    await new Promise((r) => setTimeout(r, 100));
  }
  const code = await closed;
  clearTimeout(timer);
  const ev = readEvents(events);
  return { code, out, events: ev, logs: ev.filter((e) => e.type === 'log').map((e) => `${e.level}: ${e.message}`) };
}

/** Mounts the installed root read-only and returns its differences from the image with its overrides. */
async function installedDiffs(): Promise<string[]> {
  const mnt = join(lab.dir, 'check');
  mkdirSync(mnt, { recursive: true });
  sh('mount', ['-o', 'ro', `${loop.dev}p2`, mnt]);
  try {
    return await installedTreeDiffs(expected, mnt, ['tmp']);
  } finally {
    sh('umount', [mnt]);
  }
}

/** A variant of the tree in its own directory: everything linked to the real one but the files given. */
function variant(name: string, files: Record<string, Buffer | null>): string {
  const dir = join(www, name);
  mkdirSync(join(dir, 'images'), { recursive: true });
  for (const p of ['overrides', 'scripts.tar.zst', 'manifest.json', 'manifest.json.sig', imagePath]) {
    if (p in files) continue;
    symlinkSync(join(tree, p), join(dir, p));
  }
  for (const [p, data] of Object.entries(files)) if (data) writeFileSync(join(dir, p), data);
  return dir;
}

const imageRequests = (n: Nginx) => n.requests().filter((r) => r.uri === `/pub/${imagePath}`);
const progressAt = (events: Array<Record<string, unknown>>) => Math.max(0, ...events.filter((e) => e.type === 'progress' && e.phase === 'image').map((e) => Number(e.bytesDone)));
const fatal = (r: Run) => String(r.events.find((e) => e.type === 'fatal')?.message ?? r.out);

beforeAll(async () => {
  lab = createLab('http');
  server = await makeImageServer(join(lab.dir, 'server'));
  writeFileSync(join(server.imageDir, 'opt-payload.bin'), randomBytes(40 << 20));
  appendFileSync(join(server.scriptsDir, 'hosts'), `${CLI_IP} node001.cluster node001\n`);
  writeFileSync(join(server.scriptsDir, 'disks-layouts', 'node001.xml'), LAYOUT);
  expected = buildExpectedTree(server, join(lab.dir, 'expected'));
  const kp = generateKeyPairSync('ed25519');
  key = kp.privateKey;
  keyB64 = Buffer.from(kp.publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('base64');
  www = join(lab.dir, 'www');
  tree = join(www, 'pub');
  const pub = await publishTree({ images: join(server.dir, 'images'), overrides: server.overridesDir, scripts: server.scriptsDir, out: tree, signKey: key });
  fingerprint = pub.manifest.fingerprint!;
  const img = pub.manifest.artefacts.find((a) => a.kind === 'image')!;
  imagePath = img.path;
  imageSize = img.size;
  srv = lab.ns('hs');
  cli = lab.ns('hc');
  lab.veth({ ns: cli, name: 'eth0' }, { ns: srv, name: 'veth-c', cidr: `${SRV_IP}/24` });
  sh('ip', ['-n', cli, 'addr', 'add', `${CLI_IP}/24`, 'dev', 'eth0']);
  certs = makeCertificates(join(lab.dir, 'tls'), SRV_IP);
  sites.origin = makeNginx(lab, srv, { name: 'origin', listen: `${SRV_IP}:8080`, root: www });
  sites.tls = makeNginx(lab, srv, { name: 'tls', listen: `${SRV_IP}:8443`, root: www, tls: certs });
  // 40 MiB at 8 MiB/s: long enough to stop the server mid-image.
  sites.slow = makeNginx(lab, srv, { name: 'slow', listen: `${SRV_IP}:8082`, root: www, limitRate: '8m' });
  sites.noranges = makeNginx(lab, srv, { name: 'noranges', listen: `${SRV_IP}:8083`, root: www, limitRate: '8m', noRanges: true });
  // A CDN-style cache in front of an origin of its own (whose log then counts only what the cache fetched).
  sites.origin2 = makeNginx(lab, srv, { name: 'origin2', listen: `${SRV_IP}:8084`, root: www });
  sites.cache = makeNginx(lab, srv, { name: 'cache', listen: `${SRV_IP}:8081`, upstream: `${SRV_IP}:8084` });
  for (const s of Object.values(sites)) await s.start();
  loop = attachLoop(lab.dir, 'disk', 320);
}, 180_000);

afterAll(async () => {
  if (loop) detachLoops([loop]);
  await lab?.cleanup();
});

describe.skipIf(!canRunNetTests())('install over HTTP(S) from nginx', () => {
  it('HTTP: the installed tree equals the image with its overrides; manifest pinned; imaging complete requested', async () => {
    const r = await install(`HTTP_BASE=http://${SRV_IP}:8080/pub/ MANIFEST_KEY=${keyB64} IMAGING_COMPLETE_URL=http://${SRV_IP}:8080/done/{hostname}?ip={ip}`);
    expect(r.code, r.out.slice(-4000)).toBe(0);
    expect(await installedDiffs()).toEqual([]);
    expect(r.events.find((e) => e.type === 'transport')).toMatchObject({ transport: 'http', fingerprint });
    expect(r.logs.some((l) => /^info: http images\/.*sha256 [0-9a-f]{64} matches the manifest$/.test(l))).toBe(true);
    expect(r.logs.some((l) => /laid down over HTTP in/.test(l))).toBe(true);
    const last = r.events.filter((e) => e.type === 'progress' && e.phase === 'image').at(-1);
    expect(last).toMatchObject({ percent: 100, bytesDone: imageSize, bytesTotal: imageSize });
    expect(sites.origin!.requests().some((q) => q.uri === `/done/node001?ip=${CLI_IP}` && q.status === 204)).toBe(true);
    expect(r.events.some((e) => e.type === 'status' && e.status === 100)).toBe(true);
  });

  it('HTTPS with a private CA (HTTPS_CA); without it the certificate is refused before any disk write', async () => {
    const bad = await install(`HTTP_BASE=https://${SRV_IP}:8443/pub/`);
    expect(bad.code).not.toBe(0);
    expect(fatal(bad)).toMatch(/certificate/i);
    const r = await install(`HTTP_BASE=https://${SRV_IP}:8443/pub/ HTTPS_CA=${certs.ca}`);
    expect(r.code, r.out.slice(-4000)).toBe(0);
    expect(await installedDiffs()).toEqual([]);
    // Unpinned: trusted on first use, and said so.
    expect(r.logs.some((l) => l.includes(`signed by key ${fingerprint}, not pinned: trusted on first use`))).toBe(true);
    expect(r.logs.some((l) => /laid down over HTTPS/.test(l))).toBe(true);
  });

  it('a bad HTTPS_CA or MANIFEST_KEY is named with its source and value', async () => {
    const r = await install(`HTTP_BASE=http://${SRV_IP}:8080/pub/ HTTPS_CA=/nonexistent.pem MANIFEST_KEY=abc`);
    expect(r.code).not.toBe(0);
    expect(fatal(r)).toMatch(/cmdline HTTPS_CA: "\/nonexistent\.pem" \(CA file\) does not exist/);
    expect(fatal(r)).toMatch(/cmdline MANIFEST_KEY: "abc" is neither/);
  });

  /** Stops a site once the image is past a third, and starts it again a second later. */
  const cutMidImage = (site: Nginx) => {
    let cut = false;
    return async (events: Array<Record<string, unknown>>) => {
      if (cut || progressAt(events) < imageSize / 3) return;
      cut = true;
      await site.stop();
      await new Promise((r) => setTimeout(r, 1000));
      await site.start();
    };
  };

  it('nginx stopped mid-image and started again: the install resumes with a Range request, sending less than twice the image', async () => {
    const r = await install(`HTTP_BASE=http://${SRV_IP}:8082/pub/ MANIFEST_KEY=${fingerprint}`, { onTick: cutMidImage(sites.slow!) });
    expect(r.code, r.out.slice(-4000)).toBe(0);
    expect(await installedDiffs()).toEqual([]);
    const reqs = imageRequests(sites.slow!);
    const resumed = reqs.find((q) => q.status === 206);
    expect(resumed, JSON.stringify(reqs)).toBeDefined();
    expect(resumed!.range).toMatch(/^bytes=[1-9]\d*-$/);
    const sent = reqs.reduce((n, q) => n + q.bytes, 0);
    expect(sent, `${sent} bytes sent for an image of ${imageSize}`).toBeLessThan(2 * imageSize);
    expect(r.events.some((e) => e.type === 'retry' && /GET .* from byte [1-9]/.test(String(e.what)))).toBe(true);
    expect(r.logs.some((l) => /matches the manifest \(resumed \d+x\)$/.test(l))).toBe(true);
  });

  it('a server that ignores Range (max_ranges 0): the image starts again from byte 0, extracted again over the partial tree', async () => {
    const r = await install(`HTTP_BASE=http://${SRV_IP}:8083/pub/ MANIFEST_KEY=${keyB64}`, { onTick: cutMidImage(sites.noranges!) });
    expect(r.code, r.out.slice(-4000)).toBe(0);
    expect(await installedDiffs()).toEqual([]);
    expect(r.logs.some((l) => /the server ignored Range at byte [1-9]\d*: image .* starts again from byte 0/.test(l))).toBe(true);
    const reqs = imageRequests(sites.noranges!);
    expect(reqs.every((q) => q.status === 200)).toBe(true);
    expect(reqs.some((q) => q.range !== '')).toBe(true);
    expect(r.logs.some((l) => /matches the manifest \(.*2 passes \(Range ignored\)\)$/.test(l))).toBe(true);
  });

  it('a tampered image fails the install, naming the artefact and both digests; nothing is called good', async () => {
    const bytes = readFileSync(join(tree, imagePath));
    for (let i = 0; i < 64; i++) bytes[(bytes.length >> 1) + i]! ^= 0xff;
    const manifestSha = JSON.parse(readFileSync(join(tree, 'manifest.json'), 'utf8')).artefacts.find((a: { path: string }) => a.path === imagePath).sha256 as string;
    variant('tampered', { [imagePath]: bytes });
    const r = await install(`HTTP_BASE=http://${SRV_IP}:8080/tampered/ MANIFEST_KEY=${keyB64}`);
    expect(r.code).not.toBe(0);
    const msg = fatal(r);
    expect(msg).toMatch(new RegExp(`image fixture-image \\(http://[^)]*/tampered/${imagePath}\\): sha256 mismatch: the manifest says ${manifestSha}, the ${imageSize} bytes received hash to (?!${manifestSha})[0-9a-f]{64}`));
    expect(r.events.some((e) => e.type === 'step-end' && e.step === 'image' && e.ok === false)).toBe(true);
    expect(r.events.some((e) => e.type === 'status' && e.status === 100)).toBe(false);
    expect(r.logs.some((l) => /laid down/.test(l))).toBe(false);
  });

  it.each([
    ['unsigned', () => ({ 'manifest.json.sig': null }), /refused: it is unsigned/],
    ['signed by another key', () => ({ 'manifest.json.sig': Buffer.from(sign(null, readFileSync(join(tree, 'manifest.json')), generateKeyPairSync('ed25519').privateKey).toString('base64')) }), /refused: the signature does not verify with MANIFEST_KEY/],
    ['truncated', () => ({ 'manifest.json': readFileSync(join(tree, 'manifest.json')).subarray(0, 300) }), /refused: is not JSON \(truncated/],
  ] as Array<[string, () => Record<string, Buffer | null>, RegExp]>)('a manifest %s with MANIFEST_KEY set is refused before any disk write', async (name, files, why) => {
    const dir = `m-${name.replace(/ /g, '-')}`;
    variant(dir, files());
    sh('dd', ['if=/dev/urandom', `of=${loop.dev}`, 'bs=1M', 'count=1', 'conv=fsync', 'status=none']);
    const before = headHash(loop.dev);
    const r = await install(`HTTP_BASE=http://${SRV_IP}:8080/${dir}/ MANIFEST_KEY=${keyB64}`);
    expect(r.code).not.toBe(0);
    expect(fatal(r)).toMatch(new RegExp(`manifest http://${SRV_IP}:8080/${dir}/manifest\\.json refused`));
    expect(fatal(r)).toMatch(why);
    expect(headHash(loop.dev)).toBe(before);
    expect(r.events.some((e) => e.type === 'step-start' && e.step === 'partition')).toBe(false);
  });

  it('four installs through an nginx proxy_cache (one as HTTP_PROXY): the origin sends each artefact once', async () => {
    const runs: Run[] = [];
    for (let i = 0; i < 3; i++) runs.push(await install(`HTTP_BASE=http://${SRV_IP}:8081/pub/ MANIFEST_KEY=${keyB64}`));
    // Through the cache as a forward proxy: the absolute-URI request names the origin, the cache answers.
    runs.push(await install(`HTTP_BASE=http://${SRV_IP}:8084/pub/ MANIFEST_KEY=${keyB64} HTTP_PROXY=${SRV_IP}:8081`));
    for (const r of runs) expect(r.code, r.out.slice(-3000)).toBe(0);
    expect(runs[3]!.events.find((e) => e.type === 'transport')?.detail).toMatch(/through proxy 10\.98\.7\.1:8081/);
    expect(await installedDiffs()).toEqual([]);
    const origin = sites.origin2!.requests();
    const manifest = JSON.parse(readFileSync(join(tree, 'manifest.json'), 'utf8')) as { artefacts: Array<{ path: string }> };
    for (const p of ['manifest.json', 'manifest.json.sig', ...manifest.artefacts.map((a) => a.path)]) {
      expect(origin.filter((q) => q.uri === `/pub/${p}`).length, `${p}: ${JSON.stringify(origin)}`).toBeLessThanOrEqual(1);
    }
    expect(origin.filter((q) => q.uri === `/pub/${imagePath}` && q.status === 200)).toHaveLength(1);
    expect(sites.cache!.requests().filter((q) => q.uri.endsWith(imagePath) || q.uri === `http://${SRV_IP}:8084/pub/${imagePath}`).length).toBe(4);
  });
});
