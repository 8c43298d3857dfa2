// Benchmark: size of the standard initrd, compressed and unpacked, each of its archives, its 10 largest files and
// directories, and the share taken by the agent executable. Needs root (cpio restores /dev/console).
// Usage: node bench/initrd-size.ts [INITRD]   (default: build a fresh package, no ISO, into a temp dir).
// Last line: `ratio <compressed/baseline>` against the 34 MB zstd initrd holding only the SEA (RECIPES.md).

import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { $q as $ } from '../initrd-build/zx.ts';
import { buildBootPackage } from '../initrd-build/build-package.ts';
import { splitCpioArchives } from '../initrd-build/cpio.ts';
import { formatBytes, largestParts, type SizedPart } from '../initrd-build/sizes.ts';

const BASELINE_BYTES = 34 * 1000 * 1000;
/** What the default build's initrd must stay under (issue 13). */
const LIMIT_BYTES = 45 * 1000 * 1000;
const ROOT = resolve(import.meta.dirname, '..');

function table(title: string, parts: SizedPart[], total: number): void {
  console.log(title);
  for (const p of parts) console.log(`  ${formatBytes(p.bytes).padStart(10)}  ${((100 * p.bytes) / total).toFixed(1).padStart(5)}%  ${p.path}`);
}

const mb = (n: number) => (n >= 100_000 ? `${(n / 1e6).toFixed(2)} MB` : `${(n / 1e3).toFixed(1)} kB`);

const work = mkdtempSync(join(tmpdir(), 'si-bench-initrd.'));
try {
  let initrd = process.argv[2] ? resolve(process.argv[2]) : '';
  if (!initrd) {
    const t0 = Date.now();
    const pkg = await buildBootPackage({ projectDir: ROOT, out: join(work, 'pkg'), flavor: 'standard', media: false });
    const s = pkg.initrd.seconds;
    console.log(`build: ${((Date.now() - t0) / 1000).toFixed(1)} s (stage ${s.stage} s, pack ${s.pack} s)`);
    console.log('archives (in boot order):');
    for (const a of pkg.initrd.archives) {
      console.log(`  ${a.name.padEnd(7)} ${a.compression.padEnd(24)} ${mb(a.bytes).padStart(10)} -> ${mb(a.compressedBytes).padStart(9)}${a.cached ? '  (from the cache)' : ''}`);
    }
    initrd = pkg.initrd.path;
  }
  const raw = join(work, 'initrd.cpio');
  const tree = join(work, 'tree');
  mkdirSync(tree);
  // Concatenated zstd frames decompress to the concatenated archives; cpio stops at each one's trailer.
  await $`zstd -d -q -f -o ${raw} ${initrd}`;
  for (const archive of splitCpioArchives(readFileSync(raw))) await $({ cwd: tree, input: archive })`cpio -idm --quiet`;
  const compressed = statSync(initrd).size;
  const parts = largestParts(tree, 10);
  console.log(`initrd: ${initrd}`);
  console.log(`compressed:   ${mb(compressed)} = ${formatBytes(compressed)} (${compressed} bytes; limit ${mb(LIMIT_BYTES)})`);
  console.log(`cpio archives: ${formatBytes(statSync(raw).size)}; files: ${formatBytes(parts.total)} (${parts.total} bytes)`);
  const agent = statSync(join(tree, 'init')).size;
  console.log(`agent (/init): ${formatBytes(agent)} = ${((100 * agent) / parts.total).toFixed(1)}% of the files`);
  table('largest files:', parts.files, parts.total);
  table('largest directories (with everything under them):', parts.dirs, parts.total);
  console.log(`size ${mb(compressed)}`);
  console.log(`ratio ${(compressed / BASELINE_BYTES).toFixed(2)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
