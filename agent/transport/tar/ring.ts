// The extractor's one queue of writes: the stream's bytes and records (what to create, pointing at those bytes) in a
// fixed ring of shared memory, applied in archive order by one writer thread. The bytes are copied once, into the ring,
// and parsed there; the ring is the memory bound and the back-pressure: when it is full the parser waits, and so does
// the stream. With no writer thread the main thread applies each record as it is committed. The stream's sha256, when
// asked for, is taken by the main thread from the ring while it would otherwise wait for the writer: the writer is the
// slower of the two, and hashing there (about 0.6 s for 750 MB) was on its critical path.

import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { TarError } from './header.js';
import { APPLY_BODY, C, HEAD, K, WORKER_SOURCE } from './apply.js';
import { RingHash } from './ring-hash.js';

export interface RecordHead {
  kind: number;
  flags?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  atime?: number;
  mtime?: number;
  /** Position in the file (data), size (file, close). */
  num?: number;
  /** Where a data record's bytes are in the ring. */
  ref?: number;
  refLen?: number;
  path: string;
  name: string;
  link?: string;
}

interface Applier {
  next(): void;
  close(): void;
}

/** Writes records into the ring and has them applied in order; the first failure is kept and thrown by every later call. */
export class WriteRing {
  readonly size: number;
  private sab: SharedArrayBuffer;
  readonly buf: Buffer;
  private ctrl = new Int32Array(new SharedArrayBuffer(32));
  /** Written by the writer: how far the ring is free (absolute); by the main thread: how far it waits for. */
  private doneF = new Float64Array(new SharedArrayBuffer(16));
  /** Bytes written (absolute, wrap skips included) and records committed. */
  private produced = 0;
  private seq = 0;
  private exited: Promise<void> | null = null;
  private local: Applier | null = null;
  private localState = { pos: 0, free: 0, entry: 0, nameLen: 0, name: null as string | null };
  /** The oldest ring byte (absolute) that records to come may still point at besides the last raw record; Infinity: none. */
  keep = Infinity;
  /** The last raw record's bytes (absolute): the parser is reading them, records to come point into them. */
  private rawKeep = Infinity;
  /** Where the last raw record's bytes are: in the ring, and as an absolute position. */
  private rawOff = 0;
  private rawAbs = 0;
  private failure: unknown = null;
  private failed: Promise<void> | null = null;
  /** The stream's sha256 (null: not asked for). */
  private hash: RingHash | null;

  constructor(size: number, useWorker: boolean, hash = false) {
    this.size = Math.max(64 * 1024, Math.floor(size / 8) * 8);
    this.sab = new SharedArrayBuffer(this.size);
    this.buf = Buffer.from(this.sab);
    this.hash = hash ? new RingHash(this.buf) : null;
    if (useWorker) this.startWorker();
    else {
      const make = new Function('fs', 'ring', 'size', 'state', APPLY_BODY) as (f: typeof fs, r: Buffer, s: number, st: object) => Applier;
      this.local = make(fs, this.buf, this.size, this.localState);
    }
  }

  /** The most bytes one raw record carries (the caller cuts chunks to this). */
  get maxRaw(): number {
    return this.maxRecord - HEAD;
  }

  /** Copies a piece of the stream into the ring (to be hashed later if the ring hashes); returns it there, to be parsed in place. */
  raw(piece: Buffer): Buffer | Promise<Buffer> {
    const at = this.begin({ kind: K.raw, path: '', name: '' }, piece.length);
    const done = (a: number): Buffer => {
      piece.copy(this.buf, a);
      this.rawOff = a;
      this.rawAbs = this.rawKeep = this.produced - this.lastLen + (a - this.lastAt);
      this.hash?.add(a, piece.length, this.produced - this.lastLen);
      this.commit();
      return this.buf.subarray(a, a + piece.length);
    };
    return typeof at === 'number' ? done(at) : at.then(done);
  }

  /**
   * Reads the next piece of the stream straight into the ring: reserves room for len bytes, lets read fill them (it
   * returns how many it read; 0 at the end) and returns them there, to be parsed in place (null at the end).
   */
  async rawFrom(len: number, read: (buf: Buffer, off: number, len: number) => number | Promise<number>): Promise<Buffer | null> {
    let at = this.begin({ kind: K.raw, path: '', name: '' }, len);
    if (typeof at !== 'number') at = await at;
    let n = read(this.buf, at, len);
    if (typeof n !== 'number') n = await n;
    // Nothing else is begun while the read is under way: the record is the last one and shrinks to what was read.
    const fit = (at - this.lastAt + n + 7) & ~7;
    this.produced -= this.lastLen - fit;
    this.lastLen = fit;
    this.buf.writeUInt32LE(fit, this.lastAt);
    this.buf.writeUInt32LE(n, this.lastAt + 56);
    this.rawOff = at;
    this.rawAbs = this.rawKeep = this.produced - fit + (at - this.lastAt);
    if (n > 0) this.hash?.add(at, n, this.produced - fit);
    this.commit();
    return n === 0 ? null : this.buf.subarray(at, at + n);
  }

  /** Hashes the oldest raw record not yet hashed; false when there was none (or the ring does not hash). */
  private hashOne(): boolean {
    return this.hash?.hashOne() ?? false;
  }

  /** The absolute position of a view into the last raw record (what keep is set to, to hold it). */
  absOf(view: Buffer): number {
    return this.rawAbs + (view.byteOffset - this.rawOff);
  }

  /** The sha256 (hex) of every raw record (the ring must have been made to hash). */
  digest(): string {
    if (!this.hash) throw new TarError('internal: the ring was not asked to hash the stream');
    return this.hash.digest();
  }

  /** The largest record a caller may ask for (data pieces are cut to fit). */
  get maxRecord(): number {
    return this.size >> 2;
  }

  private used(): number {
    return this.produced - Math.min(this.doneF[0]!, this.hash?.floor() ?? Infinity);
  }

  /**
   * Reserves a record with room for dataLen bytes of data and writes its header; returns the offset in buf where the data
   * goes (the caller copies it, then calls commit), or a promise of it when the ring is full.
   */
  begin(h: RecordHead, dataLen: number): number | Promise<number> {
    this.check();
    const pl = Buffer.byteLength(h.path);
    const nl = Buffer.byteLength(h.name);
    const ll = h.link === undefined ? 0 : Buffer.byteLength(h.link);
    const len = (HEAD + pl + nl + ll + dataLen + 7) & ~7;
    if (len > this.size >> 1) throw new TarError(`internal: a record of ${len} bytes does not fit the ring`, h.name);
    const at = this.room(len);
    if (at >= 0) return this.head(at, len, h, pl, nl, ll, dataLen);
    return this.roomLater(len).then((a) => this.head(a, len, h, pl, nl, ll, dataLen));
  }

  /** Where a record of len bytes can go now (-1: not yet); writes the wrap marker when it goes back to the start. */
  private room(len: number): number {
    const wp = this.produced % this.size;
    const tail = this.size - wp;
    const skip = tail >= len ? 0 : tail;
    if (this.used() + skip + len > this.size) return -1;
    if (skip > 0) {
      if (skip >= HEAD) this.buf.writeUInt32LE(0, wp);
      this.produced += skip;
      return 0;
    }
    return wp;
  }

  private async roomLater(len: number): Promise<number> {
    for (;;) {
      // The ring is full: the writer has work for a while, and the main thread hashes instead of waiting.
      this.publish();
      if (!this.hashOne()) {
        if (this.local) throw new TarError('internal: no room in the ring with every record applied');
        // Woken once the writer has freed what this record needs and an eighth of the ring more (as much as it can
        // free), not at every record it applies: fewer wake-ups on both sides, and the writer still has most of the
        // ring to work through.
        const wp = this.produced % this.size;
        const need = this.produced + len + (this.size - wp >= len ? 0 : this.size - wp) - this.size;
        await this.waitFor(0, Math.max(need, Math.min(need + (this.size >> 3), this.produced, this.lastKeep)));
      }
      const at = this.room(len);
      if (at >= 0) return at;
    }
  }

  private head(at: number, len: number, h: RecordHead, pl: number, nl: number, ll: number, dl: number): number {
    const b = this.buf;
    b.writeUInt32LE(len, at);
    b[at + 4] = h.kind;
    b[at + 5] = h.flags ?? 0;
    b.writeUInt32LE(h.mode ?? 0, at + 8);
    b.writeUInt32LE(h.uid ?? 0, at + 12);
    b.writeUInt32LE(h.gid ?? 0, at + 16);
    b.writeUInt32LE(pl, at + 20);
    b.writeDoubleLE(h.atime ?? 0, at + 24);
    b.writeDoubleLE(h.mtime ?? 0, at + 32);
    b.writeDoubleLE(h.num ?? 0, at + 40);
    b.writeUInt32LE(nl, at + 48);
    b.writeUInt32LE(ll, at + 52);
    b.writeUInt32LE(dl, at + 56);
    // Once applied, a record frees what is before the bytes records to come point at (a raw record: its own).
    this.lastKeep = Math.min(this.keep, h.kind === K.raw ? this.produced + HEAD : this.rawKeep);
    b.writeDoubleLE(this.lastKeep, at + 64);
    b.writeUInt32LE(h.ref ?? 0, at + 72);
    b.writeUInt32LE(h.refLen ?? 0, at + 76);
    let o = at + HEAD;
    o += b.write(h.path, o, 'utf8');
    o += b.write(h.name, o, 'utf8');
    if (ll > 0) o += b.write(h.link!, o, 'utf8');
    this.produced += len;
    this.lastAt = at;
    this.lastLen = len;
    return o;
  }

  /** The last record begun: where in the ring, its length, and how far its application frees the ring. */
  private lastAt = 0;
  private lastLen = 0;
  private lastKeep = 0;
  /** What the main thread's waits are waiting for: records applied, ring freed up to (absolute). */
  private waits: Array<{ mark: number; free: number }> = [];

  /** Hands the record begun last to the writer (at the next publish, or with 15 more if it sleeps: a wake-up each costs). */
  commit(): void {
    this.seq++;
    if (!this.local && this.seq - Atomics.load(this.ctrl, C.committed) >= 16 && Atomics.load(this.ctrl, C.asleep) !== 0) this.publish();
    if (this.local) {
      const st = this.localState;
      try {
        this.local.next();
      } catch (err) {
        this.failure = writerError(err as Error & { entry?: string });
        throw this.failure;
      }
      this.doneF[0] = st.free;
      Atomics.store(this.ctrl, C.applied, this.seq);
      Atomics.store(this.ctrl, C.committed, this.seq);
      return;
    }
  }

  /**
   * Publishes now if the writer sleeps with much to do (256 KiB or 16 records), else once the main thread has nothing
   * left to run (before it waits for the stream): a stream in 64 KiB chunks woke the writer for each, about 11,000 times
   * for the Debian image, when it keeps up.
   */
  publishSoon(): void {
    if (this.local || Atomics.load(this.ctrl, C.committed) === this.seq) return;
    if (this.produced - this.publishedAt >= 256 * 1024 || this.seq - Atomics.load(this.ctrl, C.committed) >= 16 || Atomics.load(this.ctrl, C.asleep) === 0) return this.publish();
    if (this.soon) return;
    this.soon = true;
    setImmediate(() => {
      this.soon = false;
      this.publish();
    });
  }

  private publishedAt = 0;
  private soon = false;

  /** Lets the writer see every record committed so far (waking it if it sleeps); commits alone are not published. */
  publish(): void {
    if (this.local || Atomics.load(this.ctrl, C.committed) === this.seq) return;
    this.publishedAt = this.produced;
    Atomics.store(this.ctrl, C.committed, this.seq);
    if (Atomics.load(this.ctrl, C.asleep) !== 0) Atomics.notify(this.ctrl, C.committed, 1);
  }

  /** Starts the writer thread. */
  private startWorker(): void {
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { sab: this.sab, size: this.size, ctrlSab: this.ctrl.buffer, doneSab: this.doneF.buffer },
      // It allocates next to nothing: a small heap keeps the thread's memory small.
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8, stackSizeMb: 1 },
      stdout: false,
      stderr: false,
    });
    let gotMessage: () => void = () => undefined;
    this.failed = new Promise<void>((r) => (gotMessage = r));
    w.on('message', (m: { message: string; entry?: string; code?: string }) => {
      if (this.failure === null) this.failure = writerError(Object.assign(new Error(m.message), { code: m.code, entry: m.entry }));
      gotMessage();
    });
    w.on('error', (e) => {
      if (this.failure === null) this.failure = e;
      gotMessage();
      Atomics.notify(this.ctrl, C.applied);
    });
    this.exited = new Promise<void>((r) =>
      w.on('exit', () => {
        if (this.failure === null && Atomics.load(this.ctrl, C.stop) === 0) this.failure = new TarError('the writer thread ended unexpectedly');
        gotMessage();
        Atomics.notify(this.ctrl, C.applied);
        r();
      }),
    );

  }

  /**
   * Waits until the writer has applied mark records and freed the ring up to free (absolute), or failed, or half a
   * second went by. The writer notifies only while a wait is flagged, and only once the least of what the waits want
   * is reached.
   */
  private async waitFor(mark: number, free: number): Promise<void> {
    this.check();
    this.publish();
    const me = { mark, free };
    this.waits.push(me);
    this.setWant();
    Atomics.add(this.ctrl, C.waiting, 1);
    const seen = Atomics.load(this.ctrl, C.applied);
    if (seen < mark || this.doneF[0]! < free) {
      const r = waitAsync(this.ctrl, C.applied, seen, 500);
      if (r.async) await r.value;
    }
    Atomics.sub(this.ctrl, C.waiting, 1);
    this.waits.splice(this.waits.indexOf(me), 1);
    this.setWant();
    await this.checkWriter();
  }

  private setWant(): void {
    let mark = 0x7fffffff;
    let free = Infinity;
    for (const w of this.waits) {
      mark = Math.min(mark, w.mark);
      free = Math.min(free, w.free);
    }
    this.doneF[1] = free;
    Atomics.store(this.ctrl, C.wantApplied, mark);
  }

  /** Throws the first failure. */
  check(): void {
    if (this.failure !== null) throw this.failure;
  }

  /** Throws the first failure, waiting for the writer's message when it has flagged one. */
  private async checkWriter(): Promise<void> {
    // The writer's message with the details is sent before its flag is set, but arrives as a task of its own.
    if (Atomics.load(this.ctrl, C.failed) !== 0) await this.failed;
    this.check();
  }

  /** Records committed so far (for applied()). */
  get committed(): number {
    return this.seq;
  }

  /** Waits until every record committed up to mark (default: all) has been applied. */
  async settle(mark = this.seq): Promise<void> {
    this.publish();
    while (Atomics.load(this.ctrl, C.applied) < mark) {
      this.check();
      if (this.hashOne()) continue;
      await this.waitFor(mark, 0);
    }
    await this.checkWriter();
  }

  /** Stops the writer (after what it is applying) and closes any file left open. */
  async close(): Promise<void> {
    this.local?.close();
    Atomics.store(this.ctrl, C.stop, 1);
    Atomics.notify(this.ctrl, C.committed);
    await this.exited;
  }
}

// Atomics.waitAsync (Node 16+), not yet in TypeScript's ES2022 library.
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, ms: number): { async: boolean; value: Promise<string> | string } }).waitAsync;

function writerError(err: Error & { entry?: string }): TarError {
  return err instanceof TarError ? err : new TarError(err.message, err.entry);
}
