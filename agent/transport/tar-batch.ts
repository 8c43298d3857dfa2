// Small files and symlinks go to worker threads in batches: one message creates hundreds of entries with plain system
// calls there, while the main thread goes on parsing. (One libuv round trip per open/write/utimes/close costs more than
// the calls themselves for small files.)

import { Worker } from 'node:worker_threads';
import type { TarEntry } from './tar-entry.js';
import { TarError } from './tar-header.js';
import { writeBatchHere } from './tar-batch-local.js';

/** The worker's code: self-contained (node: built-ins only) so it runs from a string, in the bundle and the SEA alike. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const C = fs.constants;
const FLAGS = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
function clear(p) {
  try { fs.unlinkSync(p); } catch (e) {
    if (e.code === 'ENOENT') return;
    if (e.code !== 'EISDIR' && e.code !== 'EPERM') throw e;
    fs.rmdirSync(p);
  }
}
function create(make, p) {
  try { return make(); } catch (e) { if (e.code !== 'EEXIST') throw e; clear(p); return make(); }
}
parentPort.on('message', (m) => {
  const buf = Buffer.from(workerData.shared, m.slot * workerData.slotBytes, m.bytes);
  const num = m.num;
  const str = m.str.split('\\0');
  let entry = null;
  try {
    for (let i = 0, k = 0; i < num.length; i += 9, k += 3) {
      const abs = str[k];
      entry = str[k + 1];
      const [kind, off, len, mode, uid, gid, atime, mtime, flags] = num.subarray(i, i + 9);
      if (kind === 0) {
        const fd = create(() => fs.openSync(abs, FLAGS, mode), abs);
        try {
          let done = 0;
          while (done < len) done += fs.writeSync(fd, buf, off + done, len - done, done);
          if (flags & 1) fs.fchownSync(fd, uid, gid);
          if (flags & 2) fs.fchmodSync(fd, mode);
          fs.futimesSync(fd, atime, mtime);
        } finally { fs.closeSync(fd); }
      } else if (kind === 2) {
        try { fs.mkdirSync(abs, mode); } catch (e) {
          if (e.code !== 'EEXIST') throw e;
          if (!fs.lstatSync(abs).isDirectory()) { clear(abs); fs.mkdirSync(abs, mode); }
        }
      } else {
        create(() => fs.symlinkSync(str[k + 2], abs), abs);
        if (flags & 1) fs.lchownSync(abs, uid, gid);
        fs.lutimesSync(abs, atime, mtime);
      }
    }
    parentPort.postMessage({ id: m.id });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: { entry, message: e.message, code: e.code } });
  }
});
`;

// A batch carries 9 numbers per entry: kind (0 file, 1 symlink, 2 directory), offset, length, mode, uid, gid, atime, mtime, flags
// (1 chown, 2 chmod).

interface Batch {
  id: number;
  /** 9 numbers per entry, and three strings (path, entry name, link target) joined by NUL. */
  num: number[];
  str: string[];
  data: Buffer[];
  bytes: number;
  rels: string[];
  done: Promise<void>;
  settle: (err?: unknown) => void;
  /** What must be done before the batch may go (directories it writes into), taken when it is sent. */
  gate?: Promise<void> | null;
  gateHooked?: boolean;
  /** Earlier batches that make directories this one writes into. */
  deps: Set<Promise<void>>;
}

/** Entries per batch, data bytes per batch, and batches in flight (each in its slot of one shared buffer). */
const MAX_ITEMS = 256;
const MAX_BYTES = 4 * 1024 * 1024;
const SLOTS = 6;
/** Until this many entries have come, and while no worker runs, batches are written by the main thread. */
const LOCAL_ENTRIES = 512;

/** Sends small files and symlinks to worker threads in batches; the caller waits on the promise of each path. */
export class BatchWriter {
  private workers: Array<{ w: Worker; busy: number }> = [];
  private waiting = new Map<number, Batch & { slot: number }>();
  private cur: Batch | null = null;
  private ready: Batch[] = [];
  // Batch data goes through fixed slots of one shared buffer: no per-batch allocation, nothing left for a GC to find.
  private shared = new SharedArrayBuffer(SLOTS * MAX_BYTES);
  private free = Array.from({ length: SLOTS }, (_, i) => i);
  private nextId = 1;
  private seen = 0;
  private failure: unknown = null;

  constructor(private maxWorkers: number, private onHeld: (delta: number) => void) {}

  /** Creates workers lazily; false when this Node cannot start one (the caller writes everything itself). */
  private worker(): { w: Worker; busy: number } {
    if (this.workers.length < this.maxWorkers && this.workers.every((x) => x.busy > 0)) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { shared: this.shared, slotBytes: MAX_BYTES } });
      const slot = { w, busy: 0 };
      w.on('message', (m: { id: number; error?: { entry: string | null; message: string } }) => this.onReply(slot, m));
      w.on('error', (e) => this.failAll(e));
      this.workers.push(slot);
    }
    return this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  private batch(): Batch {
    this.seen++;
    if (this.cur) return this.cur;
    let settle: (err?: unknown) => void = () => undefined;
    const done = new Promise<void>((res, rej) => (settle = (err) => (err ? rej(err) : res())));
    done.catch(() => undefined);
    this.cur = { id: this.nextId++, num: [], str: [], data: [], bytes: 0, rels: [], done, settle, deps: new Set() };
    return this.cur;
  }

  /** Queues a whole small file (its data as the parser gave it); returns the promise of its batch. */
  addFile(rel: string, abs: string, e: TarEntry, data: Buffer[], chown: boolean, chmod: boolean, dir?: Promise<void>): Promise<void> {
    const len = data.reduce((n, d) => n + d.length, 0);
    if (this.cur && this.cur.bytes + len > MAX_BYTES) this.flush();
    const b = this.batch();
    this.depend(b, dir);
    b.num.push(0, b.bytes, len, e.mode, e.uid, e.gid, e.atime ?? e.mtime, e.mtime, (chown ? 1 : 0) | (chmod ? 2 : 0));
    b.str.push(abs, e.path, '');
    b.data.push(...data);
    b.bytes += len;
    b.rels.push(rel);
    this.onHeld(len);
    const p = b.done;
    if (b.rels.length >= MAX_ITEMS || b.bytes >= MAX_BYTES) this.flush();
    return p;
  }

  /** Queues a symlink. */
  addSymlink(rel: string, abs: string, e: TarEntry, chown: boolean, dir?: Promise<void>): Promise<void> {
    const b = this.batch();
    this.depend(b, dir);
    b.num.push(1, 0, 0, 0, e.uid, e.gid, e.atime ?? e.mtime, e.mtime, chown ? 1 : 0);
    b.str.push(abs, e.path, e.linkname);
    b.rels.push(rel);
    const p = b.done;
    if (b.rels.length >= MAX_ITEMS) this.flush();
    return p;
  }

  /** Queues a directory (made with the owner-writable mode; its own mode is set at the end). */
  addDir(rel: string, abs: string, e: TarEntry, mode: number, dir?: Promise<void>): Promise<void> {
    const b = this.batch();
    this.depend(b, dir);
    b.num.push(2, 0, 0, mode, 0, 0, 0, 0, 0);
    b.str.push(abs, e.path, '');
    b.rels.push(rel);
    const p = b.done;
    if (b.rels.length >= MAX_ITEMS) this.flush();
    return p;
  }

  /** Entries whose directory another batch makes wait for that batch; within one batch the worker keeps the order. */
  private depend(b: Batch, dir: Promise<void> | undefined): void {
    if (dir && dir !== b.done) b.deps.add(dir);
  }

  /** True when rel waits in the batch being filled. */
  holds(rel: string): boolean {
    return this.cur !== null && this.cur.rels.includes(rel);
  }

  /** Bytes in the batch being filled. */
  get filling(): number {
    return this.cur?.bytes ?? 0;
  }

  /** Sends the batch being filled (as soon as a slot is free). */
  flush(): void {
    const b = this.cur;
    if (!b || b.rels.length === 0) return;
    this.cur = null;
    b.gate = b.deps.size > 0 ? Promise.all([...b.deps]).then(() => undefined) : null;
    this.ready.push(b);
    this.pump();
  }

  private pump(): void {
    while (this.ready.length > 0 && this.free.length > 0) {
      const head = this.ready[0]!;
      if (head.gate) {
        // Batches go in order: the first waits for its directories, the others behind it.
        if (head.gateHooked) return;
        head.gateHooked = true;
        const gate = head.gate;
        gate.then(
          () => {
            if (head.gate === gate) head.gate = null;
            this.pump();
          },
          (err: unknown) => {
            if (this.failure === null) this.failure = err;
            if (head.gate === gate) head.gate = null;
            this.pump();
          },
        );
        return;
      }
      const b = this.ready.shift()!;
      if (this.failure) {
        this.onHeld(-b.bytes);
        b.settle(this.failure);
        continue;
      }
      if (this.workers.length === 0 && this.seen <= LOCAL_ENTRIES) {
        // A small archive so far: starting a worker would cost more than writing these few entries here.
        writeBatchHere(b.num, b.str, b.data).then(
          () => this.localDone(b),
          (err: unknown) => this.localDone(b, err),
        );
        continue;
      }
      const slot = this.free.pop()!;
      const dest = Buffer.from(this.shared, slot * MAX_BYTES, MAX_BYTES);
      let off = 0;
      for (const d of b.data) off += d.copy(dest, off);
      b.data = [];
      const w = this.worker();
      w.busy++;
      this.waiting.set(b.id, { ...b, slot });
      // Flat numbers and one string clone far faster than an array of objects.
      const num = new Float64Array(b.num);
      w.w.postMessage({ id: b.id, slot, bytes: b.bytes, num, str: b.str.join('\0') }, [num.buffer]);
    }
  }

  private localDone(b: Batch, err?: unknown): void {
    this.onHeld(-b.bytes);
    b.data = [];
    if (err !== undefined && this.failure === null) this.failure = err;
    b.settle(err);
  }

  private onReply(slot: { busy: number }, m: { id: number; error?: { entry: string | null; message: string } }): void {
    slot.busy--;
    const b = this.waiting.get(m.id);
    if (!b) return;
    this.waiting.delete(m.id);
    this.free.push(b.slot);
    this.onHeld(-b.bytes);
    if (m.error) {
      const err = new TarError(m.error.message, m.error.entry ?? undefined);
      if (this.failure === null) this.failure = err;
      b.settle(err);
    } else b.settle();
    this.pump();
  }

  private failAll(e: unknown): void {
    if (this.failure === null) this.failure = e;
    for (const b of this.waiting.values()) b.settle(e);
    this.waiting.clear();
    for (const b of this.ready.splice(0)) b.settle(e);
  }

  /** Batches sent and not yet answered. */
  get inFlight(): number {
    return this.waiting.size;
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((x) => x.w.terminate()));
    this.workers = [];
  }
}
