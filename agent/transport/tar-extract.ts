// The agent's tar extractor: one streaming pass from any Readable (plain, gzip or zstd tar) into a target directory.

import * as fsp from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Runner } from '../exec/runner.js';
import type { Reporter } from '../report/events.js';
import { TarError } from './tar-header.js';
import { TarParser, type TarEntry, type TarEvent } from './tar-parse.js';
import { TargetTree, clearPath, parentOf, safeRelPath } from './tar-paths.js';
import { FileJob, WritePool, type MetaPolicy, type PoolLimits } from './tar-write.js';
import { applyXattrs, eachLimited, fixDirectory, makeSpecial, xattrsFor } from './tar-finish.js';
import { loadIdMaps } from './tar-acl.js';
import { openTarSource, type Compression } from './tar-source.js';
import { BatchWriter } from './tar-batch.js';

/** Files up to this size go whole to the batch writer's workers; bigger (and sparse) ones are written as they stream. */
const SMALL_FILE = 256 * 1024;

export { TarError } from './tar-header.js';

export interface ExtractCtx {
  run: Runner;
  report?: Reporter;
}

export interface ExtractOptions {
  /** Called as bytes arrive (the count of the stream as received, before decompression). */
  onBytes?: (received: number) => void;
  /** A sha256 (hex) the received stream must have; a mismatch is an error after extraction. */
  expectSha256?: string;
  signal?: AbortSignal;
  limits?: Partial<PoolLimits>;
  /** Worker threads for small files and symlinks (default 2; 0 writes everything from the main thread). */
  workers?: number;
  /** Entries to leave out (relative path, normalized); their data is read past. */
  skip?: (rel: string, type: TarEntry['type']) => boolean;
}

export interface ExtractResult {
  /** Bytes received (compressed size for .gz/.zst). */
  bytes: number;
  sha256: string;
  entries: number;
  compression: Compression;
  xattrs: number;
}

interface Work {
  tree: TargetTree;
  pool: WritePool;
  policy: MetaPolicy;
  dirs: Map<string, TarEntry>;
  run: Runner;
  /** Chains of mknod runs (devices, FIFOs), a few at a time. */
  lanes: Array<Promise<unknown>>;
  xattrs: Array<{ rel: string; e: TarEntry }>;
  current: { push(buf: Buffer, pos: number): void; end(): void } | null;
  /** The target held nothing (but lost+found) at the start: what this run makes is new, owned by root, no inherited group. */
  fresh: boolean;
  batch: BatchWriter | null;
  entries: number;
  skip?: ExtractOptions['skip'];
}

/** Extracts a tar stream into dest keeping owners, modes, times, links, devices, sparse files and xattrs; refuses escapes. */
export async function extractTar(ctx: ExtractCtx, input: Readable, dest: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const isRoot = process.getuid?.() === 0;
  const w: Work = {
    tree: new TargetTree(dest),
    pool: new WritePool({ tasks: 64, bytes: 32 * 1024 * 1024, ...opts.limits }),
    policy: { isRoot, umask: currentUmask() },
    dirs: new Map(),
    run: ctx.run,
    lanes: [Promise.resolve(), Promise.resolve(), Promise.resolve(), Promise.resolve()],
    xattrs: [],
    current: null,
    fresh: false,
    batch: null,
    entries: 0,
    skip: opts.skip,
  };
  await fsp.mkdir(dest, { recursive: true });
  w.fresh = (await fsp.readdir(dest)).every((n) => n === 'lost+found');
  const workers = opts.workers ?? 2;
  if (workers > 0) {
    const batch = new BatchWriter(workers, (d) => (d > 0 ? w.pool.hold(d) : w.pool.release(-d)));
    w.batch = batch;
    // Send the batch being filled only when it is what is waited for, or when nothing else in flight would free room:
    // flushing at every wait would send batches of one file.
    w.pool.beforeWait = (rel) => {
      if (rel !== undefined ? batch.holds(rel) : batch.inFlight === 0 || batch.filling >= 2 * 1024 * 1024) batch.flush();
    };
  }
  const parser = new TarParser();
  let src: Awaited<ReturnType<typeof openTarSource>> | null = null;
  try {
    src = await openTarSource(ctx.run, input, opts.onBytes, opts.signal);
    for await (const chunk of src.chunks) {
      if (opts.signal?.aborted) throw new TarError('extraction aborted');
      for (const ev of parser.feed(chunk as Buffer)) await onEvent(w, ev);
    }
    parser.end();
    await src.done;
    await finishAll(ctx, w);
    const sha256 = await src.digest();
    if (opts.expectSha256 && opts.expectSha256.toLowerCase() !== sha256) {
      throw new TarError(`sha256 of the received stream is ${sha256}, the server published ${opts.expectSha256.toLowerCase()}`);
    }
    return { bytes: src.received(), sha256, entries: w.entries, compression: src.compression, xattrs: w.xattrs.length };
  } catch (err) {
    w.current?.end();
    input.destroy();
    w.batch?.flush();
    await w.pool.drain().catch(() => undefined);
    throw err;
  } finally {
    src?.close();
    await w.batch?.close();
  }
}

function currentUmask(): number {
  const m = process.umask(0o022);
  process.umask(m);
  return m;
}

async function onEvent(w: Work, ev: TarEvent): Promise<void> {
  if (ev.kind === 'data') {
    if (!w.current) return; // data of an entry that writes none (a dumpdir listing, a volume label)
    w.current.push(ev.buf, ev.pos);
    await w.pool.roomForBytes();
    return;
  }
  if (ev.kind === 'entry-end') {
    w.current?.end();
    w.current = null;
    return;
  }
  if (ev.kind === 'entry') await onEntry(w, ev.entry);
}

async function onEntry(w: Work, e: TarEntry): Promise<void> {
  if (e.type === 'skip') return;
  const rel = safeRelPath(e.path, e.path);
  if (w.skip?.(rel, e.type)) return;
  w.entries++;
  if (e.xattrs.length > 0 || e.acl.access || e.acl.default) w.xattrs.push({ rel, e });
  if (rel === '') {
    if (e.type !== 'dir') throw new TarError('the archive root is not a directory', e.path);
    w.dirs.set('', e);
    return;
  }
  const { tree, pool } = w;
  // A parent not seen yet is looked up on disk, after the directories being made: send them first.
  if (tree.kindOf(parentOf(rel)) === undefined) w.batch?.flush();
  await tree.ensureParents(rel, e.path);
  await pool.settled(rel);
  const abs = tree.abs(rel);
  const parentNew = tree.parentIsNew(rel);
  if (tree.kindOf(rel) === 'dir' || tree.kindOf(rel) === 'newdir') {
    if (e.type !== 'dir') w.dirs.delete(rel);
  }
  switch (e.type) {
    case 'dir':
      startDir(w, rel, e);
      w.dirs.set(rel, e);
      return;
    case 'file': {
      tree.set(rel, 'other');
      if (w.batch && !e.sparse && e.size <= SMALL_FILE) {
        w.current = smallFile(w, w.batch, rel, abs, e, parentNew);
        return;
      }
      if (w.batch?.holds(parentOf(rel))) w.batch.flush(); // its directory must be on its way
      await pool.room();
      const job = new FileJob(abs, e, parentNew, pool, w.policy, tree.ready(parentOf(rel)));
      tree.set(rel, 'other');
      pool.start(rel, () => job.run());
      w.current = job;
      return;
    }
    case 'symlink': {
      tree.set(rel, 'symlink');
      const chown = w.policy.isRoot && (e.uid !== 0 || e.gid !== 0 || !parentNew);
      if (w.batch) {
        pool.track(rel, w.batch.addSymlink(rel, abs, e, chown, tree.ready(parentOf(rel))));
        return;
      }
      await pool.room();
      const ready = tree.ready(parentOf(rel));
      pool.start(rel, async () => {
        await ready;
        await makeSymlink(abs, e, chown);
      });
      return;
    }
    case 'hardlink': {
      const target = safeRelPath(e.linkname, e.path, 'hard link target');
      if (target === '' || target === rel) throw new TarError(`hard link to ${JSON.stringify(e.linkname)} refused`, e.path);
      if (tree.kindOf(parentOf(target)) === undefined) w.batch?.flush();
      await tree.ensureParents(target, e.path, false);
      tree.set(rel, 'other');
      await pool.settled(target);
      if (w.batch?.holds(parentOf(rel))) w.batch.flush();
      await pool.room();
      const ready = tree.ready(parentOf(rel));
      pool.start(rel, async () => {
        await ready;
        await makeHardlink(tree.abs(target), abs, e);
      });
      return;
    }
    default:
      tree.set(rel, 'other');
      // Devices and FIFOs need a process each (mknod); they are made while the stream goes on.
      if (w.batch?.holds(parentOf(rel))) w.batch.flush();
      const ready = tree.ready(parentOf(rel));
      // Four lanes: a /dev full of nodes must not start hundreds of processes at once.
      const lane = w.entries % w.lanes.length;
      const done = w.lanes[lane]!.then(() => ready).then(() => makeSpecial(w.run, abs, e, w.policy.isRoot));
      w.lanes[lane] = done.catch(() => undefined);
      pool.track(rel, done);
  }
}

/** Collects a small file's data; at its end the whole file goes to the batch writer. */
function smallFile(w: Work, batch: BatchWriter, rel: string, abs: string, e: TarEntry, parentNew: boolean) {
  const data: Buffer[] = [];
  return {
    push(buf: Buffer): void {
      data.push(buf);
    },
    end(): void {
      const { isRoot, umask } = w.policy;
      const chown = isRoot && (e.uid !== 0 || e.gid !== 0 || !parentNew);
      const chmod = chown || (e.mode & 0o7000) !== 0 || (e.mode & umask) !== 0;
      w.pool.track(rel, batch.addFile(rel, abs, e, data, chown, chmod, w.tree.ready(parentOf(rel))));
    },
  };
}

/**
 * Makes a directory in the background (after its parent): the parser goes on, and whatever is written inside waits for
 * it (file tasks await it, batches are sent only once every directory started before them exists).
 */
function startDir(w: Work, rel: string, e: TarEntry): void {
  const { tree } = w;
  const k = tree.kindOf(rel);
  if (k === 'dir' || k === 'newdir') return;
  const parent = tree.ready(parentOf(rel));
  tree.set(rel, w.fresh ? 'newdir' : 'dir');
  const done = w.batch
    ? w.batch.addDir(rel, tree.abs(rel), e, (e.mode | 0o700) & 0o777, parent)
    : (parent ?? Promise.resolve()).then(() => createDir(tree.abs(rel), e));
  tree.markMaking(rel, done);
  w.pool.track(rel, done);
}

async function createDir(abs: string, e: TarEntry): Promise<void> {
  // Owner-writable until the end, when the archive's mode is set (a 0555 directory must still take its contents).
  const mode = (e.mode | 0o700) & 0o777;
  try {
    await fsp.mkdir(abs, { mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if ((await fsp.lstat(abs)).isDirectory()) return;
    // A symlink or file where the archive has a directory is replaced, as GNU tar and rsync do.
    await clearPath(abs, e.path);
    await fsp.mkdir(abs, { mode });
  }
}

async function makeSymlink(abs: string, e: TarEntry, chown: boolean): Promise<void> {
  try {
    await fsp.symlink(e.linkname, abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    await clearPath(abs, e.path);
    await fsp.symlink(e.linkname, abs);
  }
  if (chown) await fsp.lchown(abs, e.uid, e.gid);
  await fsp.lutimes(abs, e.atime ?? e.mtime, e.mtime);
}

async function makeHardlink(target: string, abs: string, e: TarEntry): Promise<void> {
  try {
    await fsp.link(target, abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new TarError(`hard link to ${JSON.stringify(e.linkname)} failed: ${(err as Error).message}`, e.path);
    await clearPath(abs, e.path);
    await fsp.link(target, abs);
  }
}

/** After the stream: every write done, then xattrs in one run, then directories' owners, modes and times. */
async function finishAll(ctx: ExtractCtx, w: Work): Promise<void> {
  w.current?.end();
  w.batch?.flush();
  await w.pool.drain();
  const { tree } = w;
  if (w.xattrs.length > 0) {
    const needIds = w.xattrs.some(({ e }) => e.acl.access || e.acl.default);
    const ids = needIds ? await loadIdMaps(tree.root) : null;
    const items = w.xattrs.map(({ rel, e }) => ({ rel, attrs: xattrsFor(e, ids) })).filter((i) => i.attrs.length > 0);
    await applyXattrs(ctx.run, tree.root, items);
  }
  // Setting a directory's owner, mode or times does not touch its parent's mtime: all can go at once.
  const dirs = [...w.dirs].filter(([rel]) => rel === '' || tree.kindOf(rel) === 'dir' || tree.kindOf(rel) === 'newdir');
  await eachLimited(dirs, 16, ([rel, e]) => fixDirectory(tree.abs(rel), e, w.policy.isRoot));
}
