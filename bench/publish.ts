// Benchmark: `si-agent publish` (the bundled agent, dist/si-agent.cjs) of the Debian-size image against
// `tar --zstd -cf` of the same tree, in the same run, from a warm page cache. Needs the bundle (npm run build).
// Usage: node bench/publish.ts [IMAGE_DIR]   (default: bench-lib's debianImageDir(), built once, ~3 min). Env
// BENCH_ROUNDS (default 3). Prints each run (wall time, peak RSS, output size), then `ratio <publish/tar>` of the medians.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { debianImageDir, median, warmCache } from './bench-lib.ts';

const ROOT = resolve(import.meta.dirname, '..');
const AGENT = join(ROOT, 'dist/si-agent.cjs');
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

/** Runs argv under /usr/bin/time: wall ms and peak RSS (KB). */
function timed(argv: string[]): { ms: number; rssKB: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  return { ms, rssKB: Number(r.stderr.trim().split('\n').at(-1)) };
}

async function main(): Promise<void> {
  if (!existsSync(AGENT)) throw new Error(`${AGENT} is missing: run npm run build first`);
  const image = resolve(process.argv[2] ?? debianImageDir());
  const work = mkdtempSync(join(tmpdir(), 'si-bench-publish-'));
  try {
    for (const d of ['images', 'overrides', 'scripts']) mkdirSync(join(work, 'src', d), { recursive: true });
    symlinkSync(image, join(work, 'src/images/debian'));
    await warmCache(image);
    const pub: number[] = [];
    const tar: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const out = join(work, `out${i}`);
      const p = timed([process.execPath, AGENT, 'publish', '--images', join(work, 'src/images'), '--overrides', join(work, 'src/overrides'), '--scripts', join(work, 'src/scripts'), '--out', out]);
      const pSize = statSync(join(out, 'images/debian.tar.zst')).size;
      rmSync(out, { recursive: true, force: true });
      const file = join(work, `gnu${i}.tar.zst`);
      const t = timed(['tar', '--zstd', '-cf', file, '-C', image, '.']);
      const tSize = statSync(file).size;
      rmSync(file, { force: true });
      pub.push(p.ms);
      tar.push(t.ms);
      console.log(`round ${i + 1}: publish ${(p.ms / 1000).toFixed(2)} s, peak RSS ${(p.rssKB / 1024).toFixed(1)} MiB, ${(pSize / 1048576).toFixed(1)} MiB | tar --zstd -cf ${(t.ms / 1000).toFixed(2)} s, peak RSS ${(t.rssKB / 1024).toFixed(1)} MiB, ${(tSize / 1048576).toFixed(1)} MiB`);
    }
    console.log(`median publish ${(median(pub) / 1000).toFixed(2)} s, tar --zstd ${(median(tar) / 1000).toFixed(2)} s`);
    console.log(`ratio ${(median(pub) / median(tar)).toFixed(2)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
