// Benchmark: wall time for N=4 clients downloading and extracting the image over BitTorrent at once against N=1, same
// run. opentracker in the server namespace, aria2c as the first seeder in its own namespace; every link (the seeder's
// and each client's, both directions) shaped with tc tbf to the same rate, so the server is no faster than a client.
// Each client runs the agent's own BitTorrent code (peer on its address, download and extract, seeding on until every
// client is done, as BITTORRENT_SEED_WAIT does) into its own directory. Needs root, opentracker, aria2, mktorrent.
// Usage: node bench/bittorrent.ts   Env BENCH_ROUNDS (default 2), BENCH_MBIT (link rate, default 40; 0 unshaped),
// BENCH_PAYLOAD_MB (incompressible bytes added to the fixture image, default 48). At 100 Mbit on a 2-core machine the
// four clients' hashing, gunzip and extraction (about 4 s of CPU each) plus the seeder saturate the CPU before the
// links; 40 Mbit keeps the links the limit, which is what the bench is about.
// Prints each round, the seeder's upload per image size, the clients' peak RSS, and last the line `ratio <N4/N1>`.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { makeImageServer } from '../fixtures/image-server/make-image-server.ts';
import { createBtLab, makeTorrent, type BtClient, type BtLab } from '../test/system/lib-net/bt-lab.ts';
import { noNativeAddons, noWebRtc } from '../initrd-build/bundle-plugins.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const mbit = Number(process.env.BENCH_MBIT ?? 40);
const payloadMb = Number(process.env.BENCH_PAYLOAD_MB ?? 48);
const SEEDER_PORT = 6881;

// The child: one client's BitTorrent part of the install, through the agent's modules. Prints its figures once the
// image is extracted, seeds on until its stdin closes, then stops the peer.
const ENTRY = `
const { readFileSync } = require('node:fs');
const { startPeer } = require('./agent/transport/bittorrent-client.ts');
const { downloadAndExtract } = require('./agent/transport/bittorrent-download.ts');
const { parseTorrentMeta } = require('./agent/transport/bittorrent-meta.ts');
const { createRunner } = require('./agent/exec/runner.ts');
const { Reporter } = require('./agent/report/events.ts');
const [torrent, staging, dest, ip, server] = process.argv.slice(2);
(async () => {
  const started = process.hrtime.bigint();
  let doneMs = null;
  const buf = readFileSync(torrent);
  const peer = await startPeer({ bindAddress: ip });
  const d = await downloadAndExtract({ run: createRunner(null), report: new Reporter() }, {
    peer, torrentFile: buf, meta: parseTorrentMeta(buf, torrent), stagingDir: staging, dest, serverAddresses: [server], pollMs: 200,
    onFigures: (t) => { if (t.done && doneMs === null) doneMs = Number(process.hrtime.bigint() - started) / 1e6; }, reader: process.env.BENCH_READER,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(JSON.stringify({ ms, doneMs, ...d.tally, rssMb: process.resourceUsage().maxRSS / 1024, cpuS: (process.cpuUsage().user + process.cpuUsage().system) / 1e6 }) + '\\n');
  process.stdin.resume();
  process.stdin.on('end', async () => { await peer.stop(); process.exit(0); });
})().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exit(1); });
`;

interface ClientResult {
  ms: number;
  /** When the download was complete (all pieces verified), as the client saw it. */
  doneMs: number | null;
  fromServer: number;
  fromPeers: number;
  rssMb: number;
  cpuS: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function startClient(bundle: string, c: BtClient, torrent: string, dir: string, server: string): { child: ChildProcess; result: Promise<ClientResult> } {
  for (const d of ['stage', 'root']) mkdirSync(join(dir, d), { recursive: true });
  const child = spawn('ip', ['netns', 'exec', c.ns, process.execPath, bundle, torrent, join(dir, 'stage'), join(dir, 'root'), c.ip, server], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const result = new Promise<ClientResult>((res, rej) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) res(JSON.parse(out.split('\n')[0]!) as ClientResult);
    });
    child.on('close', (code) => rej(new Error(`client in ${c.ns} exited ${code}: ${err}`)));
  });
  return { child, result };
}

/** Bytes that crossed the seeder's link towards the bridge (received by its bridge port: after tc, so no retransmits
 *  of dropped packets are counted twice). */
function seederSent(lab: BtLab, seeder: BtClient): number {
  const j = JSON.parse(lab.exec(lab.srv, ['ip', '-s', '-j', 'link', 'show', seeder.port])) as Array<{ stats64: { rx: { bytes: number } } }>;
  return j[0]!.stats64.rx.bytes;
}

/** One round with n clients started together; wall time until the last has extracted the image. */
async function round(lab: BtLab, bundle: string, torrent: string, seeder: BtClient, n: number, work: string) {
  const before = seederSent(lab, seeder);
  const t0 = process.hrtime.bigint();
  const clients = lab.clients.slice(0, n).map((c, i) => startClient(bundle, c, torrent, join(work, 'round', `c${i}`), seeder.ip));
  const results = await Promise.all(clients.map((c) => c.result));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const sent = seederSent(lab, seeder) - before;
  await Promise.all(clients.map((c) => new Promise<void>((r) => {
    c.child.removeAllListeners('close');
    c.child.on('close', () => r());
    c.child.stdin!.end();
  })));
  rmSync(join(work, 'round'), { recursive: true, force: true });
  return { ms, sent, results };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/bittorrent needs root (namespaces, tc, owners, device nodes)');
  const work = mkdtempSync(join(tmpdir(), 'si-bench-bt-'));
  const lab = createBtLab('n', 50, 4);
  try {
    const server = await makeImageServer(join(work, 'server'));
    writeFileSync(join(server.imageDir, 'opt-payload.bin'), randomBytes(payloadMb << 20));
    const seeder = lab.addPeer(1);
    // BENCH_MBIT=0 leaves the links unshaped (to tell the protocol's limits from the links').
    if (mbit > 0) for (const c of [...lab.clients, seeder]) lab.shapeLink(c, mbit);
    const torrents = join(work, 'torrents');
    mkdirSync(torrents);
    const t = makeTorrent(server.imageDir, torrents, `image-${server.imageName}`, lab.trackerUrl, true);
    const size = statSync(t.tarball).size;
    lab.startTracker([t.infoHash]);
    lab.startSeeder('seeder', t.torrent, torrents, { ns: seeder.ns, ip: seeder.ip, port: SEEDER_PORT });
    for (let i = 0; i < 100 && !lab.exec(seeder.ns, ['ss', '-ltn']).includes(`:${SEEDER_PORT} `); i++) await new Promise((r) => setTimeout(r, 100));
    const bundle = join(work, 'bt-child.cjs');
    await build({ stdin: { contents: ENTRY, resolveDir: ROOT, loader: 'js' }, bundle: true, platform: 'node', target: 'node22', format: 'cjs', outfile: bundle, logLevel: 'warning', plugins: [noNativeAddons, noWebRtc] });
    console.log(`image tarball ${(size / 1e6).toFixed(1)} MB (gzip), ${mbit > 0 ? `every link ${mbit} Mbit/s (tc tbf)` : 'links unshaped'}, ${rounds} rounds`);
    const times: Record<number, number[]> = { 1: [], 4: [] };
    let peakRss = 0;
    for (let i = 0; i < rounds; i++) {
      for (const n of i % 2 === 0 ? [1, 4] : [4, 1]) {
        const r = await round(lab, bundle, t.torrent, seeder, n, work);
        times[n]!.push(r.ms);
        peakRss = Math.max(peakRss, ...r.results.map((x) => x.rssMb));
        const fromPeers = r.results.reduce((s, x) => s + x.fromPeers, 0);
        const fromServer = r.results.reduce((s, x) => s + x.fromServer, 0);
        console.log(`round ${i + 1} N=${n}: ${(r.ms / 1000).toFixed(2)} s, seeder sent ${(r.sent / 1e6).toFixed(1)} MB = ${(r.sent / size).toFixed(3)} x image size (clients counted ${(fromServer / size).toFixed(3)} x from it), clients got ${(fromPeers / 1e6).toFixed(1)} MB from each other, client CPU ${r.results.map((x) => x.cpuS.toFixed(1)).join('+')} s, downloads done at ${r.results.map((x) => ((x.doneMs ?? NaN) / 1000).toFixed(1)).join('/')} s`);
      }
    }
    console.log(`client peak RSS ${peakRss.toFixed(0)} MiB`);
    console.log(`median N=1 ${(median(times[1]!) / 1000).toFixed(2)} s, N=4 ${(median(times[4]!) / 1000).toFixed(2)} s`);
    console.log(`ratio ${(median(times[4]!) / median(times[1]!)).toFixed(3)}`);
  } finally {
    lab.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`bench/bittorrent: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
