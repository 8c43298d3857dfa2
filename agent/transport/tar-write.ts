// Writes files while the parser reads on: several files in flight, bounded by count and by bytes held in memory.

import { constants as C } from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { TarEntry } from './tar-entry.js';
import { clearPath } from './tar-paths.js';

export interface PoolLimits {
  /** Tasks (open files, links) in flight at once. */
  tasks: number;
  /** Bytes of file data held in memory, waiting to be written. */
  bytes: number;
}

/** Bounded concurrency for the extractor's writes; the first failure is kept and rethrown by check(). */
export class WritePool {
  private running = 0;
  private held = 0;
  private waiters: Array<() => void> = [];
  private pending = new Map<string, Promise<void>>();
  private failure: unknown = null;

  constructor(private limits: PoolLimits) {}

  /** Throws the first failure of any task. */
  check(): void {
    if (this.failure !== null) throw this.failure;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until a task may start and the bytes held are under the limit. */
  async room(): Promise<void> {
    while (this.running >= this.limits.tasks || this.held >= this.limits.bytes) {
      this.check();
      this.beforeWait?.();
      await new Promise<void>((r) => this.waiters.push(r));
    }
    this.check();
  }

  /** Waits until the bytes held are under the limit (data of the file being read; never waits for task slots). */
  async roomForBytes(): Promise<void> {
    while (this.held >= this.limits.bytes) {
      this.check();
      this.beforeWait?.();
      await new Promise<void>((r) => this.waiters.push(r));
    }
    this.check();
  }

  /** Counts bytes taken into memory (returned by release). */
  hold(n: number): void {
    this.held += n;
  }

  /** Bytes written out, no longer held. */
  release(n: number): void {
    this.held -= n;
    this.wake();
  }

  /** Called before waiting, with the path waited for if any (the batch writer may have to send what it is filling). */
  beforeWait: ((rel?: string) => void) | null = null;

  /** Waits for the task writing rel, if one is in flight (a later entry at the same path, or a hard link to it). */
  async settled(rel: string): Promise<void> {
    const p = this.pending.get(rel);
    if (p) this.beforeWait?.(rel);
    if (p) await p.catch(() => undefined);
    this.check();
  }

  /** Starts a task for rel without waiting for it; call room() first. */
  start(rel: string, task: () => Promise<void>): void {
    this.running++;
    const p = task()
      .catch((err: unknown) => {
        if (this.failure === null) this.failure = err;
      })
      .finally(() => {
        this.running--;
        if (this.pending.get(rel) === p) this.pending.delete(rel);
        this.wake();
      });
    this.pending.set(rel, p);
  }

  /** Tracks work done elsewhere (a batch in a worker) for rel, like a task but without a task slot. */
  track(rel: string, done: Promise<void>): void {
    const p = done.catch((err: unknown) => {
      if (this.failure === null) this.failure = err;
    }).finally(() => {
      if (this.pending.get(rel) === p) this.pending.delete(rel);
      this.wake();
    });
    this.pending.set(rel, p);
  }

  /** Waits for every task; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.all([...this.pending.values()]);
    this.check();
  }
}

/** Ownership and mode work a new file needs after creation (root's own files in a new directory need no chown). */
export interface MetaPolicy {
  isRoot: boolean;
  umask: number;
}

/** One regular file being written: data queued by the parser, written by its task in large positioned writev calls. */
export class FileJob {
  private queue: Array<{ buf: Buffer; pos: number }> = [];
  private ended = false;
  private wakeUp: (() => void) | null = null;

  constructor(private abs: string, private entry: TarEntry, private parentNew: boolean, private pool: WritePool, private policy: MetaPolicy, private ready?: Promise<void>) {}

  /** Queues data for position pos. */
  push(buf: Buffer, pos: number): void {
    this.queue.push({ buf, pos });
    this.pool.hold(buf.length);
    this.wakeUp?.();
  }

  /** No more data will come. */
  end(): void {
    this.ended = true;
    this.wakeUp?.();
  }

  /** Creates the file (replacing what is there), writes the data as it comes, then owner, mode and times. */
  async run(): Promise<void> {
    const e = this.entry;
    await this.ready; // the directory it goes in, when that is still being made
    const fh = await openNew(this.abs, e.mode, e.path);
    try {
      for (;;) {
        if (this.queue.length === 0) {
          if (this.ended) break;
          await new Promise<void>((r) => (this.wakeUp = r));
          this.wakeUp = null;
          continue;
        }
        const batch = this.queue.splice(0);
        await writeBatch(fh, batch);
        this.pool.release(batch.reduce((n, b) => n + b.buf.length, 0));
      }
      if (e.sparse) await fh.truncate(e.size);
      const { isRoot, umask } = this.policy;
      const chown = isRoot && (e.uid !== 0 || e.gid !== 0 || !this.parentNew);
      if (chown) await fh.chown(e.uid, e.gid);
      // chown clears setuid/setgid, and umask trims the creation mode: set the mode last when either applies.
      if (chown || (e.mode & 0o7000) !== 0 || (e.mode & umask) !== 0) await fh.chmod(e.mode);
      await fh.utimes(e.atime ?? e.mtime, e.mtime);
    } finally {
      await fh.close();
    }
  }
}

/** Writes queued pieces, joining neighbours into one writev call each. */
async function writeBatch(fh: fsp.FileHandle, batch: Array<{ buf: Buffer; pos: number }>): Promise<void> {
  let i = 0;
  while (i < batch.length) {
    const start = batch[i]!.pos;
    let end = start + batch[i]!.buf.length;
    const bufs = [batch[i]!.buf];
    i++;
    while (i < batch.length && batch[i]!.pos === end && bufs.length < 512) {
      bufs.push(batch[i]!.buf);
      end += batch[i]!.buf.length;
      i++;
    }
    let off = start;
    let rest = bufs;
    while (rest.length) {
      const { bytesWritten } = await fh.writev(rest, off);
      off += bytesWritten;
      rest = dropWritten(rest, bytesWritten);
    }
  }
}

function dropWritten(bufs: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of bufs) {
    if (n >= b.length) n -= b.length;
    else {
      out.push(n > 0 ? b.subarray(n) : b);
      n = 0;
    }
  }
  return out;
}

/** Creates a file exclusively without following links; whatever was there (file, link, empty dir) is removed first. */
export async function openNew(abs: string, mode: number, entry: string): Promise<fsp.FileHandle> {
  const flags = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
  try {
    return await fsp.open(abs, flags, mode & 0o7777);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    await clearPath(abs, entry);
    return await fsp.open(abs, flags, mode & 0o7777);
  }
}
