// Retries a network operation with exponential backoff and jitter under an overall deadline, reporting each retry.

import { SiError } from '../errors.js';
import type { Reporter } from '../report/events.js';

export interface RetryOptions {
  /** What is being tried, for the retry events and the final error ("fetch scripts from 10.0.0.1"). */
  what: string;
  /** Most attempts in all (default 5; unbounded when only deadlineMs is given). */
  attempts?: number;
  /** First delay (default 200 ms); doubles each retry up to capMs. */
  baseMs?: number;
  /** Longest delay between attempts (default 5000 ms). */
  capMs?: number;
  /** No new attempt starts after this many ms since the first one began. */
  deadlineMs?: number;
  report?: Reporter;
  signal?: AbortSignal;
  /** False means give up at once and rethrow the error as it is (default: retry everything). */
  retryIf?: (err: unknown) => boolean;
  /** Random source in [0,1) for the jitter (tests pass a fixed one). */
  random?: () => number;
}

/** Policy knobs a caller can pass down to functions that retry internally. */
export type RetryPolicy = Pick<RetryOptions, 'attempts' | 'baseMs' | 'capMs' | 'deadlineMs'>;

/** Delay before retry number n (1-based): base*2^(n-1) capped, with "equal jitter" (half fixed, half random). */
export function computeBackoff(n: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, n - 1));
  return Math.round(exp / 2 + (exp / 2) * random());
}

/** Waits ms, or rejects as soon as the signal aborts. */
export function sleepAbortable(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError(signal!));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new SiError('E_INTERNAL', 'aborted');
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

/** The backoff factor from SI_RETRY_SCALE (a number in (0, 1]); 1 when unset or not such a number. */
export function retryScale(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.SI_RETRY_SCALE);
  return Number.isFinite(v) && v > 0 && v <= 1 ? v : 1;
}

/** Runs fn until it succeeds, retrying failures that retryIf accepts; the final error says how many attempts over how long. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  // SI_RETRY_SCALE shrinks every backoff (tests of the give-up path); attempts and deadlines stay as they are.
  const scale = retryScale();
  const baseMs = (opts.baseMs ?? 200) * scale;
  const capMs = (opts.capMs ?? 5000) * scale;
  const attempts = opts.attempts ?? (opts.deadlineMs !== undefined ? Infinity : 5);
  const random = opts.random ?? Math.random;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    try {
      return await fn(attempt);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      if (opts.retryIf && !opts.retryIf(err)) throw err;
      const elapsed = Date.now() - started;
      const delayMs = computeBackoff(attempt, baseMs, capMs, random);
      const outOfTime = opts.deadlineMs !== undefined && elapsed + delayMs > opts.deadlineMs;
      if (attempt >= attempts || outOfTime) throw giveUp(opts.what, attempt, Date.now() - started, err, outOfTime);
      opts.report?.emit({ type: 'retry', what: opts.what, attempt, delayMs, error: messageOf(err) });
      await sleepAbortable(delayMs, opts.signal);
    }
  }
}

function giveUp(what: string, attempts: number, ms: number, err: unknown, deadline: boolean): SiError {
  const code = err instanceof SiError && err.code !== 'E_COMMAND' ? err.code : 'E_NETWORK';
  const why = deadline ? ' (deadline reached)' : '';
  const details = err instanceof SiError ? err.details : [];
  return new SiError(code, `${what} failed after ${attempts} attempt${attempts === 1 ? '' : 's'} over ${(ms / 1000).toFixed(1)} s${why}: ${messageOf(err)}`, {
    cause: err,
    details,
  });
}
