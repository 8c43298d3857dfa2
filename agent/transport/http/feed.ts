// The bytes of one artefact as they download, resumed with `Range: bytes=N-` after a dropped connection, hashed as they come.

import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SiError } from '../../errors.js';
import { computeBackoff, retryScale, sleepAbortable } from '../../net/retry.js';
import type { Reporter } from '../../report/events.js';
import { HttpStatusError, httpRequest, isCertificateError, type HttpSettings } from './client.js';

export interface FeedOptions {
  url: URL;
  /** What it is, for messages ("image debian (images/debian.tar.zst)"). */
  what: string;
  /** The size the manifest gives. */
  size: number;
  settings: HttpSettings;
  report: Reporter;
  signal?: AbortSignal;
  /** Called with the byte position after each chunk. */
  onBytes?: (offset: number) => void;
  /** Attempts in a row that bring no byte before giving up (default 8), first backoff and cap (200 ms, 5 s). */
  attempts?: number;
  baseMs?: number;
  capMs?: number;
  /** A response already open from byte 0 (a server that ignored Range: the artefact starts again on it). */
  first?: IncomingMessage;
}

/** A failure no retry mends (a 404, an untrusted certificate, a size that is not the manifest's). */
export class FeedFatal extends SiError {}

/** Thrown into the reader when the server answers a Range request with the whole artefact (200): see restartWith. */
export class FeedRestart extends SiError {}

export class ArtefactFeed {
  /** Bytes received and hashed, in order from byte 0: where a resume starts. */
  offset = 0;
  resumes = 0;
  /** Set when the server ignored Range: its 200 response, open at byte 0, for a new pass over the whole artefact. */
  restartWith: IncomingMessage | null = null;
  /** Why the download itself gave up, when it did (the extractor then fails with a consequence, not the cause). */
  failure: unknown;
  private hash: Hash = createHash('sha256');
  private etag: string | undefined;
  private stopper = new AbortController();
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly o: FeedOptions) {}

  /** True once every byte the manifest announces has arrived. */
  get complete(): boolean {
    return this.offset === this.o.size;
  }

  /** The sha256 (hex) of the bytes received; call once, when complete. */
  digest(): string {
    return this.hash.digest('hex');
  }

  /** The artefact's bytes for the extractor, resuming as needed; a 200 to a Range request ends it with FeedRestart. */
  chunks(): AsyncGenerator<Buffer> {
    return this.pull(false);
  }

  /** Stops a pull under way (after the reader failed) and waits for it to let go. */
  async stop(): Promise<void> {
    // The pull has ended already when it handed over a restart: that response (opened under this stopper) must live on.
    if (!this.restartWith) this.stopper.abort(new SiError('E_TRANSFER', `${this.o.what}: download stopped`));
    await this.running;
  }

  /** Reads the rest of the artefact only to hash it (after the extractor failed: was the stream altered?). */
  async drain(): Promise<void> {
    await this.stop();
    this.stopper = new AbortController();
    for await (const _ of this.pull(true)) void _;
  }

  private async open(): Promise<IncomingMessage> {
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (this.offset > 0) {
      headers.range = `bytes=${this.offset}-`;
      // Only the same object may be resumed: a changed one comes whole (200), and starts again.
      if (this.etag) headers['if-range'] = this.etag;
    }
    const signal = this.o.signal ? AbortSignal.any([this.o.signal, this.stopper.signal]) : this.stopper.signal;
    return httpRequest(this.o.url, this.o.settings, { headers, signal });
  }

  /** Checks a response head against where the download stands; may reset to byte 0 (drain) or end in FeedRestart. */
  private accept(res: IncomingMessage, drain: boolean): void {
    const { url, size } = this.o;
    const st = res.statusCode ?? 0;
    if (st === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
      if (!m || Number(m[1]) !== this.offset) throw new SiError('E_TRANSFER', `${url.href}: 206 with Content-Range ${JSON.stringify(res.headers['content-range'])} for a request from byte ${this.offset}`);
      if (m[3] !== '*' && Number(m[3]) !== size) throw new FeedFatal('E_TRANSFER', `${url.href} is ${m[3]} bytes, the manifest says ${size}: not the published ${this.o.what}`);
      return;
    }
    if (st !== 200) throw new HttpStatusError(url.href, st, st === 408 || st === 429 || st >= 500);
    const length = res.headers['content-length'];
    if (length !== undefined && Number(length) !== size) throw new FeedFatal('E_TRANSFER', `${url.href} is ${length} bytes, the manifest says ${size}: not the published ${this.o.what}`);
    const etag = res.headers.etag;
    this.etag = etag && !etag.startsWith('W/') ? etag : undefined;
    if (this.offset === 0) return;
    if (!drain) {
      this.restartWith = res;
      throw new FeedRestart('E_TRANSFER', `${url.href} answered a request from byte ${this.offset} with the whole artefact (200: Range ignored)`);
    }
    this.offset = 0;
    this.hash = createHash('sha256');
  }

  private fatal(err: unknown): boolean {
    return err instanceof FeedFatal || err instanceof FeedRestart || (err instanceof HttpStatusError && !err.retryable) || isCertificateError(err) || this.stopper.signal.aborted || !!this.o.signal?.aborted;
  }

  private async *pull(drain: boolean): AsyncGenerator<Buffer> {
    const { size, url } = this.o;
    let done!: () => void;
    this.running = new Promise<void>((r) => (done = r));
    let res = this.o.first;
    this.o.first = undefined;
    const attempts = this.o.attempts ?? 8;
    const scale = retryScale();
    let failures = 0;
    try {
      while (this.offset < size) {
        try {
          res ??= await this.open();
          this.accept(res, drain);
          for await (const chunk of res as AsyncIterable<Buffer>) {
            if (this.offset + chunk.length > size) throw new FeedFatal('E_TRANSFER', `${url.href} sends more than the ${size} bytes the manifest says: not the published ${this.o.what}`);
            this.hash.update(chunk);
            this.offset += chunk.length;
            failures = 0;
            this.o.onBytes?.(this.offset);
            if (!drain) yield chunk;
          }
          res = undefined;
          if (this.offset < size) throw new SiError('E_TRANSFER', `${url.href}: the connection closed at byte ${this.offset} of ${size}`);
        } catch (err) {
          if (res !== this.restartWith) res?.destroy();
          res = undefined;
          if (this.fatal(err)) throw err;
          failures++;
          const why = (err as Error).message?.split('\n')[0] ?? String(err);
          if (failures >= attempts) throw new SiError('E_TRANSFER', `${this.o.what}: ${url.href} failed ${failures} times in a row at byte ${this.offset} of ${size}: ${why}`, { cause: err });
          const delayMs = computeBackoff(failures, (this.o.baseMs ?? 200) * scale, (this.o.capMs ?? 5000) * scale);
          this.o.report.emit({ type: 'retry', what: `${this.o.what}: GET ${url.href} from byte ${this.offset}`, attempt: failures, delayMs, error: why });
          await sleepAbortable(delayMs, this.o.signal ? AbortSignal.any([this.o.signal, this.stopper.signal]) : this.stopper.signal);
          if (this.offset > 0) this.resumes++;
        }
      }
    } catch (err) {
      if (!this.stopper.signal.aborted) this.failure = err;
      throw err;
    } finally {
      if (res && res !== this.restartWith) res.destroy();
      done();
    }
  }
}
