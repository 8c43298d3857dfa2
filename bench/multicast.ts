// Benchmark: wall time for N = 1, 4 and 8 clients receiving the image cast at once, from the real flamethrowerd in
// network namespaces on one bridge, same run, with N/N1 ratios. Each client runs the agent's own receiver (udp-receiver
// through the runner into the tar extractor) into its own directory. Needs root, flamethrower, udpcast.
// Usage: node bench/multicast.ts [IMAGE_DIR]   (default: the Debian-size image the fixtures build; BENCH_SMALL=1 for the
// fixture image). Env BENCH_ROUNDS (default 1), BENCH_BITRATE (flamethrowerd MAX_BITRATE, comma-separated, default
// 200M), BENCH_N (default "1,4,8").
// Prints each round (wall time, the bytes the server sent per image size, each client's agent CPU, udp-receiver CPU and
// peak RSS), the ratios per bitrate, and last the line `ratio <N4/N1>` at the first bitrate.

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { makeImageServer } from '../fixtures/image-server/make-image-server.ts';
import { debianImageDir, median } from './bench-lib.ts';
import { createMcLab, type McClient, type McLab } from '../test/system/lib-net/mc-lab.ts';

const ROOT = resolve(import.meta.dirname, '..');
const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
const bitrates = (process.env.BENCH_BITRATE ?? '200M').split(',');
const counts = (process.env.BENCH_N ?? '1,4,8').split(',').map(Number);
const IMAGE_PORTBASE = 9002;

const ENTRY = `
const { receiveCast } = require('./agent/transport/multicast/receive.ts');
const { createRunner } = require('./agent/exec/runner.ts');
const { Reporter } = require('./agent/report/events.ts');
const [portbase, dest, iface] = process.argv.slice(2);
const started = process.hrtime.bigint();
receiveCast({ run: createRunner(null), report: new Reporter() }, {
  settings: { module: 'image', portbase: Number(portbase), nosync: true, async: false }, iface, dest, waitS: 120, retries: 0,
}).then((r) => {
  const cpu = process.cpuUsage();
  // udp-receiver's CPU: the reaped children's times in /proc/self/stat (clock ticks of 10 ms).
  const stat = require('node:fs').readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  const childS = (Number(stat[13]) + Number(stat[14])) / 100;
  process.stdout.write(JSON.stringify({ ms: Number(process.hrtime.bigint() - started) / 1e6, bytes: r.bytes, cpuS: (cpu.user + cpu.system) / 1e6, childS, rssMb: process.resourceUsage().maxRSS / 1024 }) + '\\n');
}, (e) => { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exit(1); });
`;

/** Bytes the server's bridge device has sent so far (the casts leave through it). */
function txBytes(lab: McLab): number {
  const j = JSON.parse(execFileSync('ip', ['-n', lab.srv, '-s', '-j', 'link', 'show', lab.bridge], { encoding: 'utf8' })) as Array<{ stats64: { tx: { bytes: number } } }>;
  return j[0]!.stats64.tx.bytes;
}

interface Received {
  ms: number;
  bytes: number;
  cpuS: number;
  childS: number;
  rssMb: number;
}

function receive(bundle: string, c: McClient, dest: string): Promise<Received> {
  mkdirSync(dest, { recursive: true });
  return new Promise((res, rej) => {
    const child = spawn('ip', ['netns', 'exec', c.ns, process.execPath, bundle, String(IMAGE_PORTBASE), dest, c.dev], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('close', (code) => (code === 0 ? res(JSON.parse(out) as Received) : rej(new Error(`receiver in ${c.ns} failed: ${err}`))));
  });
}

/** One round with n clients: flamethrowerd waits for all n, then casts once; wall time until the last client is done. */
async function round(lab: McLab, bundle: string, image: string, n: number, work: string, bitrate: string): Promise<{ ms: number; sent: number; size: number; results: Received[] }> {
  lab.startFlamethrowerd([{ name: 'image', dir: image }], { MIN_CLIENTS: String(n), MAX_WAIT: '30', MAX_BITRATE: bitrate });
  await new Promise((r) => setTimeout(r, 1500));
  const before = txBytes(lab);
  const t0 = process.hrtime.bigint();
  const dests = lab.clients.slice(0, n).map((_, i) => join(work, 'recv', `c${i}`));
  const results = await Promise.all(lab.clients.slice(0, n).map((c, i) => receive(bundle, c, dests[i]!)));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const sent = txBytes(lab) - before;
  lab.stopFlamethrowerd();
  rmSync(join(work, 'recv'), { recursive: true, force: true });
  return { ms, sent, size: results[0]!.bytes, results };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/multicast needs root (namespaces, owners, device nodes)');
  const work = mkdtempSync(join(tmpdir(), 'si-bench-mc-'));
  const lab = createMcLab('b', 2, Math.max(...counts));
  try {
    const image = process.argv[2] ? resolve(process.argv[2]) : process.env.BENCH_SMALL === '1' ? (await makeImageServer(join(work, 'server'))).imageDir : debianImageDir();
    const bundle = join(work, 'receive-child.cjs');
    await build({ stdin: { contents: ENTRY, resolveDir: ROOT, loader: 'js' }, bundle: true, platform: 'node', target: 'node22', format: 'cjs', outfile: bundle, logLevel: 'warning' });
    console.log(`image ${image}, N = ${counts.join(', ')}, flamethrowerd MAX_BITRATE ${bitrates.join(' then ')}, ${rounds} round(s)`);
    const ratios: string[] = [];
    let first = NaN;
    for (const bitrate of bitrates) {
      const times = new Map<number, number[]>(counts.map((n) => [n, []]));
      for (let i = 0; i < rounds; i++) {
        for (const n of i % 2 === 0 ? counts : [...counts].reverse()) {
          const r = await round(lab, bundle, image, n, work, bitrate);
          times.get(n)!.push(r.ms);
          console.log(`${bitrate} round ${i + 1} N=${n}: ${(r.ms / 1000).toFixed(2)} s, cast ${(r.size / 1e6).toFixed(1)} MB, server sent ${(r.sent / 1e6).toFixed(1)} MB = ${(r.sent / r.size).toFixed(3)} x image size`);
          console.log(`    agent CPU ${r.results.map((x) => x.cpuS.toFixed(1)).join('+')} s, udp-receiver CPU ${r.results.map((x) => x.childS.toFixed(1)).join('+')} s; peak RSS ${r.results.map((x) => x.rssMb.toFixed(0)).join('/')} MiB`);
        }
      }
      const n1 = median(times.get(1) ?? [NaN]);
      ratios.push(`${bitrate}: median N=1 ${(n1 / 1000).toFixed(2)} s; ${counts.filter((n) => n !== 1).map((n) => `N${n}/N1 ${(median(times.get(n)!) / n1).toFixed(3)}`).join(', ')}`);
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
  console.error(`bench/multicast: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
