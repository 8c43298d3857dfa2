// Benchmark: wall time for N = 1, 4 and 8 clients downloading and extracting the image over BitTorrent at once, same
// run, with N/N1 ratios. opentracker in the server namespace, aria2c as the first seeder in its own namespace (the
// image server); every link (the seeder's and each client's, both directions) shaped with tc tbf to the same rate, or
// unshaped. Each client runs the agent's own BitTorrent code (peer on its address, download and extract, seeding on
// until every client is done, as BITTORRENT_SEED_WAIT does) into its own directory. Needs root, opentracker, aria2,
// mktorrent.
// Usage: node bench/bittorrent.ts [IMAGE_DIR]   (default: the Debian-size image the fixtures build; BENCH_SMALL=1 for
// the fixture image plus BENCH_PAYLOAD_MB of incompressible bytes). Env BENCH_ROUNDS (default 1), BENCH_MBIT (link
// rates, comma-separated, default "200,0"; 0 unshaped), BENCH_N (default "1,4,8"), BENCH_EXTRACT=0 (the swarm alone: verified
// pieces read and dropped, no extraction: what the transport costs apart from the extractor's CPU), BENCH_CPU_PROF=DIR
// (each client writes a CPU profile there).
// Prints each round (wall time, seeder bytes per image size, each client's CPU seconds, main-thread CPU seconds and
// peak RSS), the ratios per link rate, and last the line `ratio <N4/N1>` at the first link rate.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { makeImageServer } from '../fixtures/image-server/make-image-server.ts';
import { createBtLab, makeTorrent, type BtClient, type BtLab } from '../test/system/lib-net/bt-lab.ts';
import { noNativeAddons } from '../initrd-build/bundle-plugins.mjs';
import { debianImageDir, median } from './bench-lib.ts';

const ROOT = resolve(import.meta.dirname, '..');
const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
const rates = (process.env.BENCH_MBIT ?? '200,0').split(',').map(Number);
const counts = (process.env.BENCH_N ?? '1,4,8').split(',').map(Number);
const small = process.env.BENCH_SMALL === '1';
const payloadMb = Number(process.env.BENCH_PAYLOAD_MB ?? 48);
const SEEDER_PORT = 6881;

// The child: one client's BitTorrent part of the install, through the agent's modules. Prints its figures once the
// image is extracted, seeds on until its stdin closes, then stops the peer.
const ENTRY = `
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { startPeer, addTorrent } = require('./agent/transport/bittorrent/client.ts');
const { downloadAndExtract } = require('./agent/transport/bittorrent/download.ts');
const { verifiedPieceStream } = require('./agent/transport/bittorrent/pieces.ts');
const { parseTorrentMeta } = require('./agent/transport/bittorrent/meta.ts');
const { createRunner } = require('./agent/exec/runner.ts');
const { Reporter } = require('./agent/report/events.ts');
const [torrent, staging, dest, ip, server, tracker] = process.argv.slice(2);
// BENCH_EXTRACT=0: the verified stream is read and dropped (the swarm alone, without the extractor's work).
async function swarmOnly(peer, meta) {
  const s = await addTorrent(peer, meta, { file: join(staging, meta.name), tracker, isServer: (h) => h === server });
  for await (const chunk of verifiedPieceStream(s)) void chunk;
  return { tally: s.tally };
}
(async () => {
  const started = process.hrtime.bigint();
  let doneMs = null;
  const meta = parseTorrentMeta(readFileSync(torrent), torrent);
  const peer = await startPeer({ bindAddress: ip });
  const d = process.env.BENCH_EXTRACT === '0' ? await swarmOnly(peer, meta) : await downloadAndExtract({ run: createRunner(null), report: new Reporter() }, {
    peer, meta, tracker, stagingDir: staging, dest, serverAddresses: [server], pollMs: 200,
    onFigures: (s) => { if (s.done && doneMs === null) doneMs = Number(process.hrtime.bigint() - started) / 1e6; },
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  doneMs ??= ms;
  const cpu = process.cpuUsage();
  const main = process.threadCpuUsage();
  process.stdout.write(JSON.stringify({ ms, doneMs, ...d.tally, rssMb: process.resourceUsage().maxRSS / 1024, cpuS: (cpu.user + cpu.system) / 1e6, mainCpuS: (main.user + main.system) / 1e6 }) + '\\n');
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
  /** CPU of the client's main JavaScript thread alone (the extractor's workers excluded). */
  mainCpuS: number;
}

function startClient(bundle: string, c: BtClient, torrent: string, dir: string, server: string, tracker: string): { child: ChildProcess; result: Promise<ClientResult> } {
  for (const d of ['stage', 'root']) mkdirSync(join(dir, d), { recursive: true });
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn('ip', ['netns', 'exec', c.ns, process.execPath, ...prof, bundle, torrent, join(dir, 'stage'), join(dir, 'root'), c.ip, server, tracker], { stdio: ['pipe', 'pipe', 'pipe'] });
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
  const clients = lab.clients.slice(0, n).map((c, i) => startClient(bundle, c, torrent, join(work, 'round', `c${i}`), seeder.ip, lab.trackerUrl));
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
  const lab = createBtLab('n', 50, Math.max(...counts));
  try {
    let imageDir = process.argv[2] ?? '';
    if (!imageDir && small) {
      const server = await makeImageServer(join(work, 'server'));
      writeFileSync(join(server.imageDir, 'opt-payload.bin'), randomBytes(payloadMb << 20));
      imageDir = server.imageDir;
    } else if (!imageDir) imageDir = debianImageDir();
    if (!existsSync(imageDir)) throw new Error(`no image directory ${imageDir}`);
    const seeder = lab.addPeer(1);
    const torrents = join(work, 'torrents');
    mkdirSync(torrents);
    const t = makeTorrent(imageDir, torrents, 'image-bench', lab.trackerUrl, true);
    const size = statSync(t.tarball).size;
    lab.startTracker([t.infoHash]);
    lab.startSeeder('seeder', t.torrent, torrents, { ns: seeder.ns, ip: seeder.ip, port: SEEDER_PORT });
    for (let i = 0; i < 600 && !lab.exec(seeder.ns, ['ss', '-ltn']).includes(`:${SEEDER_PORT} `); i++) await new Promise((r) => setTimeout(r, 100));
    const bundle = join(work, 'bt-child.cjs');
    await build({ stdin: { contents: ENTRY, resolveDir: ROOT, loader: 'js' }, bundle: true, platform: 'node', target: 'node22', format: 'cjs', outfile: bundle, logLevel: 'warning', plugins: [noNativeAddons] });
    console.log(`image ${imageDir}: tarball ${(size / 1e6).toFixed(1)} MB (gzip), ${Math.ceil(size / 262144)} pieces of 256 KiB; N = ${counts.join(', ')}; links ${rates.map((m) => (m > 0 ? `${m} Mbit/s (tc tbf)` : 'unshaped')).join(' then ')}; ${rounds} round(s)`);
    const ratios: string[] = [];
    let first = NaN;
    for (const mbit of rates) {
      for (const c of [...lab.clients, seeder]) (mbit > 0 ? lab.shapeLink(c, mbit) : lab.unshapeLink(c));
      const times = new Map<number, number[]>(counts.map((n) => [n, []]));
      for (let i = 0; i < rounds; i++) {
        for (const n of i % 2 === 0 ? counts : [...counts].reverse()) {
          const r = await round(lab, bundle, t.torrent, seeder, n, work);
          times.get(n)!.push(r.ms);
          const fromPeers = r.results.reduce((s, x) => s + x.fromPeers, 0);
          const fromServer = r.results.reduce((s, x) => s + x.fromServer, 0);
          console.log(`${mbit > 0 ? `${mbit} Mbit` : 'unshaped'} round ${i + 1} N=${n}: ${(r.ms / 1000).toFixed(2)} s, seeder sent ${(r.sent / 1e6).toFixed(1)} MB = ${(r.sent / size).toFixed(3)} x image size (clients counted ${(fromServer / size).toFixed(3)} x from it), clients got ${(fromPeers / 1e6).toFixed(1)} MB from each other`);
          console.log(`    downloads done at ${r.results.map((x) => ((x.doneMs ?? NaN) / 1000).toFixed(1)).join('/')} s; client CPU ${r.results.map((x) => x.cpuS.toFixed(1)).join('+')} s, main thread ${r.results.map((x) => x.mainCpuS.toFixed(1)).join('+')} s; peak RSS ${r.results.map((x) => x.rssMb.toFixed(0)).join('/')} MiB`);
        }
      }
      const n1 = median(times.get(1) ?? [NaN]);
      const line = counts.filter((n) => n !== 1).map((n) => `N${n}/N1 ${(median(times.get(n)!) / n1).toFixed(3)}`).join(', ');
      ratios.push(`${mbit > 0 ? `${mbit} Mbit` : 'unshaped'}: median N=1 ${(n1 / 1000).toFixed(2)} s; ${line}`);
      if (Number.isNaN(first) && times.has(4)) first = median(times.get(4)!) / n1;
    }
    for (const r of ratios) console.log(r);
    console.log(`ratio ${first.toFixed(3)}`);
  } finally {
    lab.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`bench/bittorrent: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
