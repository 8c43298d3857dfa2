// The agent's tar extractor: one streaming pass from any Readable (plain, gzip or zstd tar) into a target directory.

import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Runner } from '../../exec/runner.js';
import type { Reporter } from '../../report/events.js';
import { TarError } from './header.js';
import { TarParser, type TarEntry, type TarEvent } from './parse.js';
import { TargetTree, safeRelPath } from './paths.js';
import { applyXattrs, makeSpecial, xattrsFor } from './finish.js';
import { loadIdMaps } from './acl.js';
import { collectYoung, openTarSource, type Compression } from './source.js';
import { F, K } from './apply.js';
import { WriteRing, type RecordHead } from './ring.js';

/** Files up to this size go to the writer whole, in one record (one write); bigger and sparse ones in pieces as they come. */
const SMALL_FILE = 512 * 1024;
/** The ring of records between the parser and the writer: all the file data held in memory at once (8 MiB was no faster). */
const RING_BYTES = 4 * 1024 * 1024;
/** Bytes of stream between two collections of the chunks it came in (see collectYoung). */
const GC_EVERY = 4 * 1024 * 1024;

export { TarError } from './header.js';

export interface ExtractCtx {
  run: Runner;
  report?: Reporter;
}

/** Memory bounds: `bytes` of file data in flight (the writer's ring, at least 64 KiB); `tasks` is no longer used. */
export interface PoolLimits {
  tasks: number;
  bytes: number;
}

export interface ExtractOptions {
  /** Called as bytes arrive (the count of the stream as received, before decompression). */
  onBytes?: (received: number) => void;
  /** A sha256 (hex) the received stream must have; a mismatch is an error after extraction (implies hashStream). */
  expectSha256?: string;
  /**
   * Take the sha256 of the received stream (default true); false when the caller verifies the bytes otherwise
   * (BitTorrent's SHA-1 per piece): the result's sha256 is then ''.
   */
  hashStream?: boolean;
  signal?: AbortSignal;
  limits?: Partial<PoolLimits>;
  /** Writer threads (default 1; 0 writes everything from the main thread). */
  workers?: number;
  /** Entries to leave out (relative path, normalized); their data is read past. */
  skip?: (rel: string, type: TarEntry['type']) => boolean;
}

export interface ExtractResult {
  /** Bytes received (compressed size for .gz/.zst). */
  bytes: number;
  /** Of the stream as received; '' when not asked for (hashStream false). */
  sha256: string;
  entries: number;
  compression: Compression;
  xattrs: number;
}

/** Ownership and mode work a new file needs after creation (root's own files in a new directory need no chown). */
interface MetaPolicy {
  isRoot: boolean;
  umask: number;
}

/** The file whose data the parser is reading: a whole file (its pieces in the ring so far), or one written in pieces. */
type Current = { small: true; h: RecordHead; pieces: number[] } | { small: false; e: TarEntry; flags: number };

interface Work {
  tree: TargetTree;
  ring: WriteRing;
  policy: MetaPolicy;
  dirs: Map<string, TarEntry>;
  run: Runner;
  /** Chains of mknod runs (devices, FIFOs), a few at a time, and the paths they are making. */
  lanes: Array<Promise<unknown>>;
  specials: Map<string, Promise<void>>;
  specialFailure: unknown;
  xattrs: Array<{ rel: string; e: TarEntry }>;
  current: Current | null;
  /** The target held nothing (but lost+found) at the start: what this run makes is new, owned by root, no inherited group. */
  fresh: boolean;
  entries: number;
  skip?: ExtractOptions['skip'];
}

/**
 * Extracts a tar stream into dest keeping owners, modes, times, links, devices, sparse files and xattrs; refuses escapes.
 * A file stream of a plain tar not yet read from (fs.createReadStream) is not read: the file is, straight into the ring,
 * and the stream destroyed.
 */
export async function extractTar(ctx: ExtractCtx, input: Readable, dest: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const isRoot = process.getuid?.() === 0;
  const hash = opts.hashStream !== false || opts.expectSha256 !== undefined;
  // The ring hashes a plain stream (it copies the bytes anyway); a compressed one is hashed as received, by the source.
  const src = await openTarSource(ctx.run, input, opts.onBytes, opts.signal, false, hash).catch((err: unknown) => {
    input.destroy();
    throw err;
  });
  const hashHere = hash && src.compression === 'none';
  const ring = new WriteRing(opts.limits?.bytes ?? RING_BYTES, (opts.workers ?? 1) > 0, hashHere);
  const w: Work = {
    tree: new TargetTree(dest),
    ring,
    policy: { isRoot, umask: currentUmask() },
    dirs: new Map(),
    run: ctx.run,
    lanes: [Promise.resolve(), Promise.resolve(), Promise.resolve(), Promise.resolve()],
    specials: new Map(),
    specialFailure: null,
    xattrs: [],
    current: null,
    fresh: false,
    entries: 0,
    skip: opts.skip,
  };
  // A path looked up on disk may be one the writer is still making: it catches up first.
  w.tree.beforeProbe = () => ring.settle();
  const parser = new TarParser();
  try {
    await fsp.mkdir(dest, { recursive: true });
    w.fresh = (await fsp.readdir(dest)).every((n) => n === 'lost+found');
    const max = ring.maxRaw;
    const feed = async (view: Buffer): Promise<void> => {
      for (const ev of parser.feed(view)) {
        const p = onEvent(w, ev);
        if (p) await p;
      }
      ring.publishSoon();
    };
    const file = src.file;
    if (file) {
      // A plain tar file: read straight into the ring, synchronously as GNU tar does (a copy from the page cache; a
      // read through the thread pool left both threads waiting for it).
      const step = Math.min(src.readSize, max);
      let at = 0;
      for (;;) {
        if (opts.signal?.aborted) throw new TarError('extraction aborted');
        const view = await ring.rawFrom(step, (b, off, len) => fs.readSync(file.fd, b, off, len, at));
        if (view === null) break;
        at += view.length;
        src.count(view.length);
        await feed(view);
      }
    }
    let sinceGc = 0;
    for await (const chunk of src.chunks) {
      if (opts.signal?.aborted) throw new TarError('extraction aborted');
      sinceGc += (chunk as Buffer).length;
      if (sinceGc >= GC_EVERY) {
        sinceGc = 0;
        collectYoung();
      }
      for (let off = 0; off < (chunk as Buffer).length; off += max) {
        // The bytes are copied into the ring once and parsed there: file data is written from where it lies.
        const view = ring.raw((chunk as Buffer).subarray(off, off + max));
        await feed(view instanceof Buffer ? view : await view);
      }
    }
    parser.end();
    await src.done;
    await finishAll(ctx, w);
    const sha256 = !hash ? '' : hashHere ? ring.digest() : await src.digest();
    if (opts.expectSha256 && opts.expectSha256.toLowerCase() !== sha256) {
      throw new TarError(`sha256 of the received stream is ${sha256}, the server published ${opts.expectSha256.toLowerCase()}`);
    }
    return { bytes: src.received(), sha256, entries: w.entries, compression: src.compression, xattrs: w.xattrs.length };
  } catch (err) {
    input.destroy();
    // What was handed to the writer before the failure is written (at most the ring's bytes), so the tree is the archive
    // up to the entry named in the error.
    await ring.settle().catch(() => undefined);
    await Promise.allSettled(w.lanes);
    throw err;
  } finally {
    src.close();
    await ring.close();
  }
}

function currentUmask(): number {
  const m = process.umask(0o022);
  process.umask(m);
  return m;
}

/** Handles one parser event; returns a promise only when it has to wait (the ring is full, a path is looked up). */
function onEvent(w: Work, ev: TarEvent): Promise<void> | void {
  const cur = w.current;
  const { ring } = w;
  if (ev.kind === 'data') {
    if (!cur) return; // data of an entry that writes none (a dumpdir listing, a volume label)
    if (cur.small) {
      // The file's bytes stay where they are in the ring until its record is applied.
      if (cur.pieces.length === 0) ring.keep = ring.absOf(ev.buf);
      cur.pieces.push(ev.buf.byteOffset, ev.buf.length);
      return;
    }
    return put(w, { kind: K.data, num: ev.pos, ref: ev.buf.byteOffset, refLen: ev.buf.length, path: '', name: '' });
  }
  if (ev.kind === 'entry-end') {
    w.current = null;
    if (!cur) return;
    if (cur.small) {
      const at = ring.begin(cur.h, cur.pieces.length * 4);
      ring.keep = Infinity;
      const fill = (a: number): void => {
        for (let i = 0; i < cur.pieces.length; i++) ring.buf.writeUInt32LE(cur.pieces[i]!, a + i * 4);
        ring.commit();
      };
      if (typeof at === 'number') return fill(at);
      return at.then(fill);
    }
    const e = cur.e;
    return put(w, { kind: K.close, flags: cur.flags | (e.sparse ? F.truncate : 0), mode: e.mode, uid: e.uid, gid: e.gid, atime: e.atime ?? e.mtime, mtime: e.mtime, num: e.size, path: '', name: '' });
  }
  if (ev.kind === 'entry') return onEntry(w, ev.entry);
}

/** Begins a record, copies its data (if any) and commits it; a promise only when it had to wait for room. */
function put(w: Work, h: RecordHead, data?: Buffer): Promise<void> | void {
  const at = w.ring.begin(h, data?.length ?? 0);
  const fill = (a: number): void => {
    data?.copy(w.ring.buf, a);
    w.ring.commit();
  };
  if (typeof at === 'number') return fill(at);
  return at.then(fill);
}

async function onEntry(w: Work, e: TarEntry): Promise<void> {
  if (e.type === 'skip') return;
  const rel = safeRelPath(e.path, e.path);
  if (w.skip?.(rel, e.type)) return;
  if (w.specialFailure !== null) throw w.specialFailure;
  w.entries++;
  if (e.xattrs.length > 0 || e.acl.access || e.acl.default) w.xattrs.push({ rel, e });
  if (rel === '') {
    if (e.type !== 'dir') throw new TarError('the archive root is not a directory', e.path);
    w.dirs.set('', e);
    return;
  }
  const { tree, ring } = w;
  await tree.ensureParents(rel, e.path);
  // A device or FIFO being made at this path is made before what replaces it.
  const special = w.specials.get(rel);
  if (special) await special;
  const abs = tree.abs(rel);
  const parentNew = tree.parentIsNew(rel);
  const known = tree.kindOf(rel);
  if ((known === 'dir' || known === 'newdir') && e.type !== 'dir') w.dirs.delete(rel);
  const atime = e.atime ?? e.mtime;
  const { isRoot, umask } = w.policy;
  const chown = isRoot && (e.uid !== 0 || e.gid !== 0 || !parentNew);
  switch (e.type) {
    case 'dir':
      w.dirs.set(rel, e);
      if (known === 'dir' || known === 'newdir') return;
      tree.set(rel, w.fresh ? 'newdir' : 'dir');
      // Owner-writable until the end, when the archive's mode is set (a 0555 directory must still take its contents).
      return put(w, { kind: K.dir, mode: (e.mode | 0o700) & 0o777, path: abs, name: e.path });
    case 'file': {
      tree.set(rel, 'other');
      const flags = (chown ? F.chown : 0) | (chown || (e.mode & 0o7000) !== 0 || (e.mode & umask) !== 0 ? F.chmod : 0);
      const h = { kind: K.file, flags, mode: e.mode, uid: e.uid, gid: e.gid, atime, mtime: e.mtime, num: e.size, path: abs, name: e.path };
      if (!e.sparse && e.size <= Math.min(SMALL_FILE, ring.size >> 3)) {
        w.current = { small: true, h, pieces: [] };
        return;
      }
      await put(w, { ...h, kind: K.open });
      w.current = { small: false, e, flags };
      return;
    }
    case 'symlink':
      tree.set(rel, 'symlink');
      return put(w, { kind: K.symlink, flags: chown ? F.chown : 0, uid: e.uid, gid: e.gid, atime, mtime: e.mtime, path: abs, name: e.path, link: e.linkname });
    case 'hardlink': {
      const target = safeRelPath(e.linkname, e.path, 'hard link target');
      if (target === '' || target === rel) throw new TarError(`hard link to ${JSON.stringify(e.linkname)} refused`, e.path);
      await tree.ensureParents(target, e.path, false);
      tree.set(rel, 'other');
      const special = w.specials.get(target);
      if (special) await special;
      return put(w, { kind: K.link, path: abs, name: e.path, link: tree.abs(target) }, Buffer.from(e.linkname));
    }
    default: {
      tree.set(rel, 'other');
      // Devices and FIFOs need a process each (mknod); they are made while the stream goes on, once the writer has made
      // everything before them (their directory, what they replace).
      const mark = ring.committed;
      const lane = w.entries % w.lanes.length;
      const done = w.lanes[lane]!.then(() => ring.settle(mark)).then(() => makeSpecial(w.run, abs, e, isRoot));
      w.lanes[lane] = done.catch((err: unknown) => {
        if (w.specialFailure === null) w.specialFailure = err;
      });
      const tracked = done.then(
        () => undefined,
        () => undefined,
      );
      w.specials.set(rel, tracked);
      void tracked.then(() => {
        if (w.specials.get(rel) === tracked) w.specials.delete(rel);
      });
    }
  }
}

/** After the stream: every write done, then xattrs in one run, then directories' owners, modes and times. */
async function finishAll(ctx: ExtractCtx, w: Work): Promise<void> {
  await Promise.all(w.lanes);
  if (w.specialFailure !== null) throw w.specialFailure;
  await w.ring.settle();
  const { tree } = w;
  if (w.xattrs.length > 0) {
    const needIds = w.xattrs.some(({ e }) => e.acl.access || e.acl.default);
    const ids = needIds ? await loadIdMaps(tree.root) : null;
    const items = w.xattrs.map(({ rel, e }) => ({ rel, attrs: xattrsFor(e, ids) })).filter((i) => i.attrs.length > 0);
    await applyXattrs(ctx.run, tree.root, items);
  }
  // Setting a directory's owner, mode or times does not touch its parent's mtime: any order will do.
  for (const [rel, e] of w.dirs) {
    const k = tree.kindOf(rel);
    if (rel !== '' && k !== 'dir' && k !== 'newdir') continue;
    await put(w, { kind: K.dirMeta, flags: w.policy.isRoot ? F.chown : 0, mode: e.mode & 0o7777, uid: e.uid, gid: e.gid, atime: e.atime ?? e.mtime, mtime: e.mtime, path: tree.abs(rel), name: e.path });
  }
  await w.ring.settle();
}
