// System test (root: network namespaces, a bridge, loop devices, nftables; real flamethrowerd/udp-sender, udp-receiver,
// rsyncd, socat): three clients in their own namespaces on one bridge install at once over multicast from flamethrowerd
// configured as SystemImager configures it (directory, scripts, image, overrides), one of them losing 5% of its packets
// both ways; then the bad inputs: a cast that never comes, a directory whose module file holds garbage.

import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { publishTree } from '../../agent/publish/publish.js';
import { compareTrees } from '../helpers/compare-trees.js';
import { AGENT } from './lib/agent.js';
import { attachLoop, detachLoops, type Loop } from './lib/loops.js';
import { createMcLab, type McClient, type McLab } from './lib-net/mc-lab.js';

const NET = 1;
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

const sh = (cmd: string, args: string[], input?: Buffer) => execFileSync(cmd, args, { input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 256 << 20 });

let work = '';
let lab: McLab;
let server: ImageServerInfo;
let expected = '';
let castDigest = '';
const loops: Loop[] = [];
const mounted: string[] = [];

interface Run {
  code: number | null;
  out: string;
  events: Array<Record<string, unknown>>;
}

/** Runs `si-agent install` inside a client namespace onto its own loop device. */
async function installIn(c: McClient, words: string, disk: string, dir: string): Promise<Run> {
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const events = join(dir, 'events.jsonl');
  const args = ['install', '--cmdline', `IMAGESERVER=${lab.serverIp} DEVICE=${c.dev} POST_ACTION=shutdown ${words}`, '--local-cfg', '/dev/null', '--disk', disk,
    '--sysroot', join(dir, 'sysroot'), '--workdir', join(dir, 'work'), '--events', events, '--log', join(dir, 'si.log')];
  const child = spawn('ip', ['netns', 'exec', c.ns, process.execPath, AGENT, ...args], { env: { ...process.env, SI_TMP: join(dir, 'tmp') }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  const code = await new Promise<number | null>((r) => child.on('close', (c2) => r(c2)));
  clearTimeout(timer);
  const ev = existsSync(events) ? readFileSync(events, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  return { code, out, events: ev };
}

const logs = (r: Run) => r.events.filter((e) => e.type === 'log').map((e) => String(e.message));

/** Checks one client's install: exit 0, the disk holds the image and overrides exactly, transport, digest, progress. */
async function checkInstall(r: Run, loop: Loop, dir: string, c: McClient): Promise<void> {
  const retries = r.events.filter((e) => e.type === 'retry').map((e) => `${String(e.what)}: ${String(e.error)}`);
  if (retries.length) console.log(`${c.ns} retried: ${retries.join('; ')}`);
  expect(r.code, `${c.ns}:\n${r.out.slice(-3000)}\n${lab.flamethrowerLog().slice(-2000)}`).toBe(0);
  const mnt = join(dir, 'check');
  mkdirSync(mnt, { recursive: true });
  sh('mount', ['-o', 'ro', `${loop.dev}p2`, mnt]);
  mounted.unshift(mnt);
  const diffs = (await compareTrees(expected, mnt, { ignore: ADDED })).filter((d) => {
    const m = /^(.*): mtime \d+ != \d+$/.exec(d);
    return !(m && TOUCHED_DIRS.has(m[1]!));
  });
  expect(diffs, c.ns).toEqual([]);
  expect(readFileSync(join(mnt, 'etc/shared-gc'), 'utf8')).toBe('compute\n');
  expect(readFileSync(join(mnt, 'root/post-install-order'), 'utf8').split('\n').filter(Boolean)).toEqual(['all', 'image', 'group', 'host']);
  // The transport is said, the digest matched the published one, progress had the published total and reached 100%.
  expect(r.events.some((e) => e.type === 'transport' && e.transport === 'multicast')).toBe(true);
  expect(logs(r).some((m) => m.startsWith(`multicast ${server.imageName}: `) && m.includes(`sha256 ${castDigest}`))).toBe(true);
  const progress = r.events.filter((e) => e.type === 'progress' && e.phase === 'image');
  expect(progress.at(-1)).toMatchObject({ percent: 100 });
  expect(progress.every((p) => p.bytesTotal !== null)).toBe(true);
  // udp-receiver ran on the client's interface for the directory, the scripts, the image and the overrides.
  const casts = r.events.filter((e) => e.type === 'command' && String((e.argv as string[])[0]).endsWith('udp-receiver')).map((e) => (e.argv as string[]).join(' '));
  expect(casts.length, casts.join('\n')).toBeGreaterThanOrEqual(6);
  expect(casts.every((a) => a.includes('--interface eth0') && a.includes('--nokbd'))).toBe(true);
  sh('umount', [mnt]);
  mounted.shift();
}

/** Waits until cond() holds (polling), or fails naming what it waited for. */
async function until(cond: () => boolean, maxMs: number, what: string): Promise<void> {
  const end = Date.now() + maxMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A file's text, or '' while it does not exist. */
const readText = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'si-mc-test-'));
  server = await makeImageServer(join(work, 'server'));
  lab = createMcLab('t', NET, 3);
  // Every client address is node001 (group compute, overrides global_ovr compute node001), as in the boot tests.
  appendFileSync(join(server.scriptsDir, 'hosts'), lab.clients.map((c) => `${c.ip} node001.cluster node001\n`).join(''));
  writeFileSync(join(server.scriptsDir, 'disks-layouts', 'node001.xml'), LAYOUT);
  // The server publishes the image cast's digest and size as `si-agent publish --multicast` writes them (the same
  // command flamethrowerd casts with gives the same bytes); the operator puts them beside the scripts.
  const pub = join(work, 'publish');
  await publishTree({ images: dirname(server.imageDir), overrides: server.overridesDir, scripts: server.scriptsDir, out: pub, imageNames: [server.imageName], multicast: true });
  for (const f of [`${server.imageName}.sha256`, `${server.imageName}.size`]) copyFileSync(join(pub, 'scripts-extra', f), join(server.scriptsDir, f));
  castDigest = readFileSync(join(server.scriptsDir, `${server.imageName}.sha256`), 'utf8').split(' ')[0]!;
  const cast = sh('tar', ['-B', '-S', '-cpf', '-', '-C', server.imageDir, '.']);
  expect(readFileSync(join(server.scriptsDir, `${server.imageName}.size`), 'utf8').trim()).toBe(String(cast.length));
  expected = join(work, 'expected');
  mkdirSync(expected);
  // flamethrowerd casts `tar -B -S -cpf - -C DIR .`: GNU format, no xattrs or ACLs; the expected tree has none either.
  sh('rsync', ['-aHS', '--numeric-ids', '--exclude=lost+found/', '--exclude=/proc/*', `${server.imageDir}/`, `${expected}/`]);
  for (const o of server.overrides) sh('rsync', ['-aHS', '--numeric-ids', '--ignore-times', `${server.overridesDir}/${o}/`, `${expected}/`]);
  // SystemImager's modules: scripts, the image, each override as override_<name>.
  lab.startFlamethrowerd(
    [
      { name: 'autoinstall_scripts', dir: server.scriptsDir },
      { name: server.imageName, dir: server.imageDir },
      ...server.overrides.map((o) => ({ name: `override_${o}`, dir: join(server.overridesDir, o) })),
    ],
    { MIN_CLIENTS: '3', MAX_WAIT: '5' },
  );
  // The image server's rsync daemon (imaging_complete) and a monitor stand-in, both in the server namespace.
  spawn('ip', ['netns', 'exec', lab.srv, 'rsync', '--daemon', '--no-detach', `--config=${server.rsyncdConf}`, '--port=873', `--address=${lab.serverIp}`], { stdio: 'ignore', detached: true }).unref();
  spawn('ip', ['netns', 'exec', lab.srv, 'socat', '-u', `TCP-LISTEN:8181,bind=${lab.serverIp},fork,reuseaddr`, `OPEN:${join(work, 'monitor.log')},creat,append`], { stdio: 'ignore', detached: true }).unref();
  lab.addLoss(lab.clients[2]!, 5);
}, 120_000);

afterAll(() => {
  for (const m of mounted.splice(0)) {
    try {
      sh('umount', [m]);
    } catch {
      /* not mounted */
    }
  }
  detachLoops(loops);
  lab?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('multicast install from flamethrowerd', () => {
  it('three clients at once (one with 5% loss) each install the image and overrides exactly', async () => {
    const runs = await Promise.all(
      lab.clients.map(async (c, i) => {
        const dir = join(work, `client${i + 1}`);
        const loop = attachLoop(work, `disk${i + 1}`, 300);
        loops.push(loop);
        const r = await installIn(c, `FLAMETHROWER_DIRECTORY_PORTBASE= MONITOR_SERVER=${lab.serverIp} MONITOR_PORT=8181`, loop.dev, dir);
        return { r, loop, dir, c };
      }),
    );
    for (const { r, loop, dir, c } of runs) await checkInstall(r, loop, dir, c);
    // The lossy link did lose packets (and udpcast's retransmissions made up for them).
    expect(lab.droppedPackets(lab.clients[2]!)).toBeGreaterThan(10);
    // The rsync daemon never sent the image: it only heard each client's imaging_complete.
    const rlog = readFileSync(server.logFile, 'utf8');
    expect(rlog).not.toMatch(new RegExp(`rsync on ${server.imageName}/`));
    for (const c of lab.clients) expect(rlog).toMatch(new RegExp(`rsync on scripts/imaging_complete_${c.ip.replace(/\./g, '\\.')} `));
    // The monitor heard the transport and the digest, and the end.
    const mon = readFileSync(join(work, 'monitor.log'), 'utf8');
    expect(mon).toMatch(/status=100/);
    expect(mon).toMatch(/transport=multicast/);
    expect(mon).toContain(`image_sha256=${castDigest}`);
  }, 300_000);
});

describe('multicast late joiner', () => {
  it('a client that starts while the image cast is under way is installed by the next cast, without waiting out a timeout', async () => {
    const image = server.imageName;
    const before = lab.castStarts(image);
    const start = (i: number) => {
      const dir = join(work, `late${i + 1}`);
      const loop = attachLoop(work, `late-disk${i + 1}`, 300);
      loops.push(loop);
      return { dir, loop, c: lab.clients[i]!, run: installIn(lab.clients[i]!, 'FLAMETHROWER_DIRECTORY_PORTBASE=', loop.dev, dir) };
    };
    const early = [start(0), start(1)];
    // Once the early clients' image cast has begun, their receivers are stopped (SIGSTOP): the sender goes on asking
    // them for acknowledgements, so the cast stays under way, visibly, until the late client has come up to its own
    // image step and said it heard it; only then do they go on. The late client surely starts during that cast,
    // however slow this machine is.
    await until(() => lab.castStarts(image) > before, 120_000, 'the image cast to start');
    await until(() => early.every((x) => lab.pauseReceivers(x.c, true) > 0), 10_000, 'the early receivers to stop');
    const late = start(2);
    try {
      await until(() => readText(join(late.dir, 'si.log')).includes(`multicast ${image}: a cast is under way on portbase 9004`), 120_000, 'the late client to hear the cast under way');
    } finally {
      for (const x of early) lab.pauseReceivers(x.c, false);
    }
    const runs = await Promise.all([...early, late].map(async (x) => ({ ...x, r: await x.run })));
    for (const { r, loop, dir, c } of runs) await checkInstall(r, loop, dir, c);
    const r = runs[2]!.r;
    const said = logs(r);
    // From the late client's log: it heard the cast under way without it, waited for it to end, and joined the next one
    // in its first attempt: no retry, no udp-receiver that waited out its start or receive timeout.
    expect(said.some((m) => m === `multicast ${image}: a cast is under way on portbase 9004 without this host; waiting for the next one`), said.join('\n')).toBe(true);
    expect(said.some((m) => m.startsWith(`multicast ${image}: joined the next cast after a cast under way for other receivers`) && m.endsWith('without a timeout'))).toBe(true);
    expect(r.events.filter((e) => e.type === 'retry'), JSON.stringify(r.events.filter((e) => e.type === 'retry'))).toEqual([]);
    expect(said.filter((m) => /nothing received within|waited up to|timed out/i.test(m))).toEqual([]);
    expect(said.some((m) => m.startsWith(`multicast ${image}: `) && m.includes('(attempt'))).toBe(false);
    // The image cast began again for it: the early clients' cast, then the late client's.
    expect(lab.castStarts(image)).toBeGreaterThanOrEqual(before + 2);
  }, 300_000);
});

describe('multicast bad input', () => {
  it('no cast ever comes: a clear error after the retries, naming the module and portbase', async () => {
    const dir = join(work, 'nocast');
    const r = await installIn(lab.clients[0]!, 'FLAMETHROWER_DIRECTORY_PORTBASE=9100 FLAMETHROWER_WAIT=1 FLAMETHROWER_RETRIES=1', '/dev/null', dir);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/multicast module flamethrower_directory on portbase 9100 \(interface eth0\): no cast received \(udp-receiver waited up to 1 s each time\) after 2 attempts: nothing received within 1 s/);
    expect(r.events.filter((e) => e.type === 'retry')).toHaveLength(1);
    expect(r.out).toMatch(/no disk was written/);
  }, 60_000);

  it('a module file with garbage values: the error names the file and each bad key', async () => {
    const bad = join(work, 'bad-directory');
    mkdirSync(bad);
    writeFileSync(join(bad, 'autoinstall_scripts'), 'MODULE=autoinstall_scripts\nPORTBASE=90x1\nTTL=999\n');
    writeFileSync(join(bad, server.imageName), `MODULE=${server.imageName}\nPORTBASE=9005\n`);
    const tar = join(work, 'bad-directory.tar');
    sh('tar', ['-cf', tar, '-C', bad, '.']);
    const sender = spawn('ip', ['netns', 'exec', lab.srv, 'udp-sender', '--file', tar, '--portbase', '9200', '--interface', lab.bridge, '--nokbd', '--min-clients', '1', '--max-wait', '1'], { stdio: 'ignore', detached: true });
    try {
      const r = await installIn(lab.clients[1]!, 'FLAMETHROWER_DIRECTORY_PORTBASE=9200 FLAMETHROWER_WAIT=20 FLAMETHROWER_RETRIES=0', '/dev/null', join(work, 'garbage'));
      expect(r.code, r.out).toBe(2);
      expect(r.out).toMatch(/flamethrower_directory\/autoinstall_scripts:2 PORTBASE: "90x1" is not an even port number/);
      expect(r.out).toMatch(/flamethrower_directory\/autoinstall_scripts:3 TTL: "999" is not a TTL/);
      expect(r.out).toMatch(new RegExp(`flamethrower_directory/${server.imageName}:2 PORTBASE: "9005" is not an even port number`));
    } finally {
      try {
        process.kill(-sender.pid!, 'SIGKILL');
      } catch {
        /* it ended after its cast */
      }
    }
  }, 60_000);
});
