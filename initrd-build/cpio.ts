// Packs a staging root into concatenated, reproducible newc cpio archives, each compressed on its own.
//
// The kernel unpacks an initrd made of several compressed archives one after the other. The build uses that
// to compress the parts that rarely change (tools, libraries, kernel modules; the agent executable) harder
// than a build could afford each time, and caches each compressed part by the hash of what it holds.

import { createHash } from 'node:crypto';
import { closeSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $q as $, $sync } from './zx.ts';

/** Every path under root, relative ("." first, then sorted bytewise so parents precede children). */
export function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const abs = rel === '.' ? root : join(root, rel);
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      const child = rel === '.' ? e.name : `${rel}/${e.name}`;
      out.push(child);
      if (e.isDirectory()) walk(child);
    }
  };
  walk('.');
  return ['.', ...out.sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : 1))];
}

/** Sets every entry's times (links themselves too) to one instant, for byte-identical rebuilds. */
export function pinTimes(root: string, paths: readonly string[], epochSeconds: number): void {
  for (const p of paths) lutimesSync(p === '.' ? root : join(root, p), epochSeconds, epochSeconds);
}

/** How one archive is compressed. */
export type Compression = { kind: 'zstd'; level: number; long?: number; windowLog?: number } | { kind: 'xz' };

/** The compression as a command line fragment, for the manifest ("zstd -19 --long=27", "xz -9e"). */
export function describeCompression(c: Compression): string {
  if (c.kind === 'xz') return 'xz -9e';
  return ['zstd', `-${c.level}`, ...(c.long ? [`--long=${c.long}`] : []), ...(c.windowLog ? [`--zstd=wlog=${c.windowLog}`] : [])].join(' ');
}

/** The compressor's command line for `input`; it writes `output` (xz: input + ".xz", then renamed). */
export function compressorArgs(c: Compression, input: string, output: string): { cmd: string; args: string[] } {
  if (c.kind === 'xz') return { cmd: 'xz', args: ['-9e', '-T0', '--check=crc32', '-q', '-f', input] };
  const args = [
    ...(c.level > 19 ? ['--ultra'] : []),
    `-${c.level}`,
    ...(c.long ? [`--long=${c.long}`] : []),
    ...(c.windowLog ? [`--zstd=wlog=${c.windowLog}`] : []),
    ...['-T0', '-q', '-f', '-o', output, input],
  ];
  return { cmd: 'zstd', args };
}

/** One archive of the initrd: the paths it holds and how it is compressed. */
export interface ArchivePlan {
  name: string;
  paths: string[];
  compression: Compression;
  /** Keep the compressed archive in cacheDir under the hash of its content, and reuse it. */
  cache?: boolean;
}

export interface ArchiveResult {
  name: string;
  compression: string;
  entries: number;
  /** Bytes of the regular files it holds. */
  bytes: number;
  compressedBytes: number;
  /** Taken from the cache instead of compressed now. */
  cached: boolean;
}

export interface PackOptions {
  /** Timestamp for every entry; default SOURCE_DATE_EPOCH or 0. */
  epoch?: number;
  /** Where cached archives live (e.g. <project>/.cache/initrd-parts); without it nothing is cached. */
  cacheDir?: string;
}

/** How many cached archives to keep: enough for a few kernels and agent builds side by side. */
const CACHE_KEEP = 8;

/** sha256 over what cpio would store for these paths (names, types, modes, link targets, contents). */
export function hashEntries(root: string, paths: readonly string[], salt: string): string {
  const h = createHash('sha256').update(salt).update('\0');
  for (const p of paths) {
    const abs = p === '.' ? root : join(root, p);
    const st = lstatSync(abs);
    h.update(`${p}\0${st.mode}\0`);
    if (st.isSymbolicLink()) h.update(readlinkSync(abs));
    else if (st.isFile()) h.update(createHash('sha256').update(readFileSync(abs)).digest());
    else if (st.isCharacterDevice() || st.isBlockDevice()) h.update(String(st.rdev));
    h.update('\0');
  }
  return h.digest('hex');
}

/** Writes one archive, compressed, to `out` (cpio reads the path list on stdin). */
async function packArchive(root: string, paths: readonly string[], c: Compression, out: string): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'si-cpio.'));
  try {
    const raw = join(work, 'archive.cpio');
    await $({ cwd: root, input: paths.join('\n') + '\n' })`cpio --quiet -o -H newc --reproducible -R 0:0 -O ${raw}`;
    const { cmd, args } = compressorArgs(c, raw, out);
    await $`${cmd} ${args}`;
    if (c.kind === 'xz') renameSync(`${raw}.xz`, out);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Removes all but the newest CACHE_KEEP archives of the cache directory, and what a build that was killed while it
 * compressed left (`*.tmp` an hour old: no compression of one part takes that long).
 */
function pruneCache(dir: string): void {
  const names = readdirSync(dir);
  for (const f of names.filter((n) => n.endsWith('.tmp'))) {
    const st = statSync(join(dir, f), { throwIfNoEntry: false });
    if (st && Date.now() - st.mtimeMs > 3600_000) rmSync(join(dir, f), { force: true });
  }
  const files = names
    .filter((f) => f.endsWith('.cpio.zst') || f.endsWith('.cpio.xz') || f.endsWith('.sqfs'))
    .map((f) => ({ f, t: statSync(join(dir, f), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.t - a.t);
  for (const { f } of files.slice(CACHE_KEEP)) rmSync(join(dir, f), { force: true });
}

/** The compressed archive for plan, from the cache or made now (then cached). */
async function compressedArchive(root: string, plan: ArchivePlan, work: string, epoch: number, cacheDir?: string): Promise<{ data: Buffer; cached: boolean }> {
  const ext = plan.compression.kind === 'xz' ? 'xz' : 'zst';
  if (!plan.cache || !cacheDir) {
    const file = join(work, `${plan.name}.cpio.${ext}`);
    await packArchive(root, plan.paths, plan.compression, file);
    return { data: readFileSync(file), cached: false };
  }
  const zstdVersion = $sync()`zstd -V`.stdout.trim();
  const key = hashEntries(root, plan.paths, `${describeCompression(plan.compression)} ${zstdVersion} epoch=${epoch}`);
  mkdirSync(cacheDir, { recursive: true });
  const file = join(cacheDir, `${plan.name}-${key.slice(0, 32)}.cpio.${ext}`);
  try {
    const data = readFileSync(file);
    const now = new Date();
    utimesSync(file, now, now);
    return { data, cached: true };
  } catch {
    // Not cached yet (or pruned by another build just now): make it.
  }
  // Made under a name of its own and renamed: builds running at the same time never read half an archive.
  const tmp = `${file}.${process.pid}.tmp`;
  let data: Buffer;
  try {
    await packArchive(root, plan.paths, plan.compression, tmp);
    data = readFileSync(tmp);
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  pruneCache(cacheDir);
  return { data, cached: false };
}

/** Writes the archives, in order, into outFile; returns what each holds. */
export async function writeInitrdArchives(root: string, outFile: string, plans: readonly ArchivePlan[], opts: PackOptions = {}): Promise<ArchiveResult[]> {
  const epoch = opts.epoch ?? Number(process.env.SOURCE_DATE_EPOCH ?? 0);
  pinTimes(root, plans.flatMap((p) => p.paths), epoch);
  const work = mkdtempSync(join(tmpdir(), 'si-initrd-pack.'));
  const out = openSync(outFile, 'w');
  try {
    const results: ArchiveResult[] = [];
    for (const plan of plans) {
      const { data, cached } = await compressedArchive(root, plan, work, epoch, opts.cacheDir);
      writeSync(out, data);
      let bytes = 0;
      for (const p of plan.paths) {
        const st = lstatSync(p === '.' ? root : join(root, p));
        if (st.isFile()) bytes += st.size;
      }
      results.push({ name: plan.name, compression: describeCompression(plan.compression), entries: plan.paths.length, bytes, compressedBytes: data.length, cached });
    }
    return results;
  } finally {
    closeSync(out);
    rmSync(work, { recursive: true, force: true });
  }
}

/** Splits an uncompressed stream of concatenated newc archives into the archives (each ending with its trailer). */
export function splitCpioArchives(data: Buffer): Buffer[] {
  const archives: Buffer[] = [];
  let pos = 0;
  let start = 0;
  const align4 = (n: number) => (n + 3) & ~3;
  while (pos + 110 <= data.length) {
    if (start === pos) {
      // Between archives: skip the zero padding cpio adds after a trailer.
      while (pos < data.length && data[pos] === 0) pos++;
      start = pos;
      if (pos + 110 > data.length) break;
    }
    const magic = data.toString('latin1', pos, pos + 6);
    if (magic !== '070701' && magic !== '070702') throw new Error(`cpio: bad magic at byte ${pos}`);
    const field = (i: number) => parseInt(data.toString('latin1', pos + 6 + 8 * i, pos + 14 + 8 * i), 16);
    const fileSize = field(6);
    const nameSize = field(11);
    const name = data.toString('latin1', pos + 110, pos + 110 + nameSize - 1);
    pos = align4(align4(pos + 110 + nameSize) + fileSize);
    if (name === 'TRAILER!!!') {
      archives.push(data.subarray(start, pos));
      start = pos;
    }
  }
  return archives;
}
