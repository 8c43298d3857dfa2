// Builds the agent's Node single executable (SEA): bundle, blob, stripped Node 22 copy, postject injection.

import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trimNodeIcu, type IcuTrimResult } from './icu-data.ts';
import { $sync } from './zx.ts';
import { SIDE_BUNDLES, sideBundleFile } from '../agent/side-bundle.ts';

/** The fuse Node looks for to know a SEA blob was injected. */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export interface SeaOptions {
  /** Project root (holds package.json, agent/, dist/). */
  projectDir: string;
  /** Output executable; default <project>/dist/si-agent. */
  out?: string;
  /** Node 22 binary to embed; default what node_modules/.bin/node resolves to. */
  nodeBinary?: string;
  /** Embed V8's code cache: faster start under TCG, a few MB larger. */
  useCodeCache?: boolean;
  /** Keep only the ICU data the agent uses (English, root, no legacy charsets); default true. */
  trimIcu?: boolean;
}

export interface SeaResult {
  path: string;
  bytes: number;
  nodeVersion: string;
  agentVersion: string;
  /** What trimming the linked-in ICU data did (absent when not trimmed). */
  icu?: IcuTrimResult;
}

/** Newest modification time of any file under dir (recursively). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** The side bundles beside the main one (agent/side-bundle.ts), carried as the executable's assets. */
export function sideBundleFiles(cjs: string): string[] {
  return SIDE_BUNDLES.map((n) => join(dirname(cjs), sideBundleFile(n)));
}

/** Runs `npm run build` when dist/si-agent.cjs or a side bundle is missing, or older than agent/. */
export function ensureBundle(projectDir: string, nodeBinary: string): string {
  const cjs = join(projectDir, 'dist', 'si-agent.cjs');
  const newest = newestMtime(join(projectDir, 'agent'));
  const stale = [cjs, ...sideBundleFiles(cjs)].some((f) => !existsSync(f) || statSync(f).mtimeMs < newest);
  if (stale) $sync({ cwd: projectDir })`${nodeBinary} ${join(projectDir, 'initrd-build', 'bundle.mjs')}`;
  return cjs;
}

/** The project's Node 22 binary (node_modules/.bin/node resolved). */
export function projectNode(projectDir: string): string {
  return realpathSync(join(projectDir, 'node_modules', '.bin', 'node'));
}

/** A hash of what the executable is made from: the bundle, the Node binary, the options and the build's own code. */
function seaInputsKey(cjs: string, node: string, opts: SeaOptions): string {
  const h = createHash('sha256').update(readFileSync(cjs));
  for (const f of sideBundleFiles(cjs)) h.update(readFileSync(f));
  const st = statSync(node);
  h.update(`${node}\0${st.size}\0${st.mtimeMs}\0${opts.useCodeCache ?? true}\0${opts.trimIcu !== false}\0`);
  for (const f of ['sea.ts', 'icu-data.ts']) h.update(readFileSync(fileURLToPath(new URL(f, import.meta.url))));
  return h.digest('hex');
}

/** The executable made earlier from the same inputs, if out still holds it. */
function reusableSea(out: string, stamp: string, key: string): SeaResult | undefined {
  try {
    const saved = JSON.parse(readFileSync(stamp, 'utf8')) as { key: string; result: SeaResult };
    if (saved.key === key && statSync(out).size === saved.result.bytes) return { ...saved.result, path: out };
  } catch {
    // No stamp, or no executable: build it.
  }
  return undefined;
}

/**
 * Builds the single executable and checks that `<exe> version` runs. V8's code cache differs from build to build,
 * so an executable made from the same inputs is reused as is: the initrd's cached agent archive then matches it.
 */
export function buildSea(opts: SeaOptions): SeaResult {
  const projectDir = resolve(opts.projectDir);
  const node = opts.nodeBinary ?? projectNode(projectDir);
  const out = resolve(opts.out ?? join(projectDir, 'dist', 'si-agent'));
  const cjs = ensureBundle(projectDir, node);
  const key = seaInputsKey(cjs, node, opts);
  const stamp = `${out}.stamp.json`;
  const reused = reusableSea(out, stamp, key);
  if (reused) return reused;
  // A work directory of this build's own: builds running at the same time must not share one. The finished
  // executable is renamed into place, so a reader sees either the previous file or the new one, whole.
  mkdirSync(join(projectDir, 'dist'), { recursive: true });
  const work = mkdtempSync(join(projectDir, 'dist', '.sea.'));
  try {
    const result = buildSeaIn(work, projectDir, node, out, cjs, opts);
    const tmp = join(work, 'stamp.json');
    writeFileSync(tmp, JSON.stringify({ key, result }, null, 2) + '\n');
    renameSync(tmp, stamp);
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The steps of buildSea inside its private work directory (on the same filesystem as out). */
function buildSeaIn(work: string, projectDir: string, node: string, out: string, cjs: string, opts: SeaOptions): SeaResult {
  const blob = join(work, 'sea-prep.blob');
  const config = {
    main: cjs,
    output: blob,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: opts.useCodeCache ?? true,
    assets: Object.fromEntries(SIDE_BUNDLES.map((n) => [sideBundleFile(n), join(dirname(cjs), sideBundleFile(n))])),
  };
  writeFileSync(join(work, 'sea-config.json'), JSON.stringify(config, null, 2));
  $sync({ cwd: projectDir })`${node} --experimental-sea-config ${join(work, 'sea-config.json')}`;

  // Trim ICU while the symbol table still says where its data is; strip next: stripping after injection drops
  // the blob's note section.
  const exe = join(work, 'si-agent');
  copyFileSync(node, exe);
  chmodSync(exe, 0o755);
  const icu = opts.trimIcu === false ? undefined : trimNodeIcu(exe);
  $sync()`strip --strip-all ${exe}`;
  const postject = join(projectDir, 'node_modules', 'postject', 'dist', 'cli.js');
  $sync()`${node} ${postject} ${exe} NODE_SEA_BLOB ${blob} --sentinel-fuse ${SEA_FUSE}`;

  const agentVersion = $sync()`${exe} version`.stdout.trim();
  if (!agentVersion) throw new Error(`${exe} version printed nothing`);
  const nodeVersion = $sync()`${node} --version`.stdout.trim();
  renameSync(exe, out);
  return { path: out, bytes: statSync(out).size, nodeVersion, agentVersion, ...(icu ? { icu } : {}) };
}
