// Benchmark: the agent's tar extractor against GNU tar (`tar --xattrs --acls -xpf`) on the same archive, into the same kind
// of filesystem (a fresh ext4 on a loop device for every run), in the same run. Needs root.
// Usage: node bench/extract.ts [IMAGE_DIR]   (default: the Debian-size image, the debootstrapped bookworm root of
// bench-lib's debianImageDir(); BENCH_SMALL=1: the fixture image). Env BENCH_ROUNDS (default 3), BENCH_CPU_PROF=DIR (the
// agent's runs write a --cpu-prof profile there), BENCH_STREAM=1 (the archive through a stream in 64 KiB chunks, as from
// udp-receiver's pipe, instead of the file read straight into the extractor's ring).
// The archive is GNU tar's PAX format with xattrs, ACLs and sparse files, read from the page cache by both.
// The agent runs twice a round: as multicast calls it (the stream's sha256 taken, to check the published digest) and as
// BitTorrent does (hashStream false: the same work as GNU tar). Prints each run, peak RSS of each, then the line
// `ratio-with-hash <agent with sha256/gnu-tar>` and last the line `ratio <agent without/gnu-tar>`, of the median wall times.

import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { makeImageServer } from '../fixtures/image-server/make-image-server.ts';
import { debianImageDir } from './bench-lib.ts';

const ROOT = resolve(import.meta.dirname, '..');
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 });

// The child that runs the extractor: the agent's own module, bundled as the agent is (CommonJS for Node 22).
const ENTRY = `
const { createReadStream } = require('node:fs');
const { PassThrough } = require('node:stream');
const { extractTar } = require('./agent/transport/tar/extract.ts');
const { createRunner } = require('./agent/exec/runner.ts');
const started = process.hrtime.bigint();
const file = createReadStream(process.argv[2], { highWaterMark: process.env.BENCH_STREAM === '1' ? 64 << 10 : 1 << 20 });
extractTar({ run: createRunner(null) }, process.env.BENCH_STREAM === '1' ? file.pipe(new PassThrough()) : file, process.argv[3], { hashStream: process.argv[4] === 'hash' }).then((r) => {
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const u = process.resourceUsage();
  process.stdout.write(JSON.stringify({ ms, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, entries: r.entries, bytes: r.bytes, maxRssKB: u.maxRSS }) + '\\n');
}, (e) => { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exit(1); });
`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** A fresh ext4 filesystem on a loop device, mounted at dir; returns its teardown. */
function freshFs(work: string, dir: string, mib: number): () => void {
  const file = join(work, 'fs.img');
  rmSync(file, { force: true });
  const fd = openSync(file, 'w');
  ftruncateSync(fd, mib * 1024 * 1024);
  closeSync(fd);
  const dev = sh('losetup', ['-f', '--show', file]).trim();
  sh('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', dev]);
  mkdirSync(dir, { recursive: true });
  sh('mount', [dev, dir]);
  return () => {
    spawnSync('umount', [dir]);
    spawnSync('losetup', ['-d', dev]);
    rmSync(file, { force: true });
  };
}

/** GNU tar's run under /usr/bin/time: wall ms, CPU ms and peak RSS (KB). */
function runGnu(archive: string, dest: string): { ms: number; cpuMs: number; maxRssKB: number } {
  mkdirSync(dest);
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', 'tar', '--xattrs', '--xattrs-include=*', '--acls', '--numeric-owner', '-xpf', archive, '-C', dest], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
  const [rss, user, sys] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
  return { ms, cpuMs: (user! + sys!) * 1000, maxRssKB: rss! };
}

/** The extractor in a child process: its own time from the call to the end (the agent is running already when it
 * extracts, so Node's start-up is not counted; it is printed apart), and its peak RSS (KB) including Node itself. */
function runAgent(bundle: string, archive: string, dest: string, hash: boolean): { ms: number; cpuMs: number; wallMs: number; maxRssKB: number; entries: number } {
  const t0 = process.hrtime.bigint();
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', resolve(process.env.BENCH_CPU_PROF)] : [];
  const r = spawnSync(process.execPath, [...prof, bundle, archive, dest, hash ? 'hash' : 'nohash'], { encoding: 'utf8' });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`agent extractor failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { ms: number; cpuMs: number; maxRssKB: number; entries: number };
  return { ms: out.ms, cpuMs: out.cpuMs, wallMs, maxRssKB: out.maxRssKB, entries: out.entries };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/extract needs root (loop devices, owners, device nodes)');
  const work = mkdtempSync(join(tmpdir(), 'si-bench-extract-'));
  let teardown: (() => void) | null = null;
  try {
    const image = process.argv[2]
      ? resolve(process.argv[2])
      : process.env.BENCH_SMALL === '1'
        ? (await makeImageServer(join(work, 'server'))).imageDir
        : debianImageDir();
    const archive = join(work, 'image.tar');
    sh('tar', ['--xattrs', '--xattrs-include=*', '--acls', '-S', '--format=posix', '-cpf', archive, '-C', image, '.']);
    const size = statSync(archive).size;
    readFileSync(archive); // into the page cache for both
    const bundle = join(work, 'extract-child.cjs');
    await build({ stdin: { contents: ENTRY, resolveDir: ROOT, loader: 'js' }, bundle: true, platform: 'node', target: 'node22', format: 'cjs', outfile: bundle, logLevel: 'warning' });
    const fsMiB = Math.max(512, Math.ceil((size * 1.6) / (1 << 20)));
    console.log(`image ${image}: archive ${(size / 1e6).toFixed(1)} MB, ext4 of ${fsMiB} MiB per run, ${rounds} rounds`);
    const gnu: number[] = [];
    const agent: Record<string, number[]> = { agent: [], 'agent+sha256': [] };
    const agentRss: Record<string, number> = { agent: 0, 'agent+sha256': 0 };
    let gnuRss = 0;
    const order = ['gnu', 'agent', 'agent+sha256'];
    for (let i = 0; i < rounds; i++) {
      for (const who of order.map((_, k) => order[(k + i) % order.length]!)) {
        const dir = join(work, 'mnt');
        teardown = freshFs(work, dir, fsMiB);
        const dest = join(dir, 'root');
        if (who === 'gnu') {
          const r = runGnu(archive, dest);
          gnu.push(r.ms);
          gnuRss = Math.max(gnuRss, r.maxRssKB);
          console.log(`round ${i + 1} gnu-tar      ${(r.ms / 1000).toFixed(3)} s (CPU ${(r.cpuMs / 1000).toFixed(2)} s), peak RSS ${(r.maxRssKB / 1024).toFixed(1)} MiB`);
        } else {
          mkdirSync(dest);
          const r = runAgent(bundle, archive, dest, who !== 'agent');
          agent[who]!.push(r.ms);
          agentRss[who] = Math.max(agentRss[who]!, r.maxRssKB);
          console.log(`round ${i + 1} ${who.padEnd(12)} ${(r.ms / 1000).toFixed(2)} s (process ${(r.wallMs / 1000).toFixed(2)} s with Node's start, CPU ${(r.cpuMs / 1000).toFixed(2)} s), peak RSS ${(r.maxRssKB / 1024).toFixed(1)} MiB, ${r.entries} entries`);
        }
        teardown();
        teardown = null;
      }
    }
    const m = (who: string) => median(agent[who]!);
    console.log(`median gnu-tar ${(median(gnu) / 1000).toFixed(3)} s, agent ${(m('agent') / 1000).toFixed(3)} s, agent+sha256 ${(m('agent+sha256') / 1000).toFixed(3)} s`);
    console.log(`peak RSS gnu-tar ${(gnuRss / 1024).toFixed(1)} MiB, agent ${(agentRss.agent! / 1024).toFixed(1)} MiB, agent+sha256 ${(agentRss['agent+sha256']! / 1024).toFixed(1)} MiB`);
    console.log(`ratio-with-hash ${(m('agent+sha256') / median(gnu)).toFixed(3)}`);
    console.log(`ratio ${(m('agent') / median(gnu)).toFixed(3)}`);
  } finally {
    teardown?.();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`bench/extract: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
