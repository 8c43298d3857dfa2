// Runs one rsync command through the runner, retrying connection failures, with the -A/-X fallback for 'auto'.

import type { RunOptions, RunResult } from '../../exec/runner.js';
import type { TransportCtx } from '../seams.js';
import { type RetryPolicy, withRetry } from '../../net/retry.js';
import { isRetryableRsyncError, isXattrRefusal } from './errors.js';

export type { TransportCtx } from '../seams.js';

export type XattrMode = boolean | 'auto';

export interface RsyncCall {
  what: string;
  args: string[];
  timeoutMs?: number;
  /** The newest output every `everyMs`, and all of its end (the runner's stdoutPoll). */
  stdoutPoll?: RunOptions['stdoutPoll'];
  /** Called before each attempt (progress trackers start over). */
  onAttempt?: (attempt: number) => void;
  /** Overrides ctx.retry for this call. */
  retry?: RetryPolicy;
}

/**
 * Sends the client's small protocol messages at once (a socket option of the client's own, so any daemon will do):
 * without it the daemon greeting, the module's file list and the end of each run wait on delayed ACKs, about 40 ms
 * a run, which a small transfer (scripts, overrides) feels. Ignored by local copies.
 */
export const SOCKOPTS = '--sockopts=TCP_NODELAY';

/** Runs rsync with the arguments, retrying rsync's connection/stream failures with backoff. */
export async function runRsync(ctx: TransportCtx, call: RsyncCall): Promise<RunResult> {
  const policy = { attempts: 5, deadlineMs: 60_000, ...ctx.retry, ...call.retry };
  return await withRetry(
    (attempt) => {
      call.onAttempt?.(attempt);
      return ctx.run('rsync', [SOCKOPTS, ...call.args], { timeout: call.timeoutMs ?? 0, stdoutPoll: call.stdoutPoll, signal: ctx.signal });
    },
    { what: call.what, ...policy, report: ctx.report, signal: ctx.signal, retryIf: isRetryableRsyncError },
  );
}

/**
 * Runs rsync with -A -X added as the xattr mode asks.
 *
 * 'auto' decides at the receiving end rather than by probing the server: the daemon cannot tell cheaply whether an
 * image carries xattrs or ACLs, and an image that has none costs nothing with -AX. So 'auto' asks for -AX, and only
 * when the run fails with nothing but xattr/ACL complaints (a target or staging filesystem, or an old server, that
 * cannot keep them) it warns and runs again without them; the second run moves only what the first one did not.
 */
export async function runRsyncWithXattrs(ctx: TransportCtx, call: RsyncCall, xattrs: XattrMode, insertAt: number): Promise<{ result: RunResult; xattrsKept: boolean }> {
  if (xattrs === false) return { result: await runRsync(ctx, call), xattrsKept: false };
  const withAX = [...call.args.slice(0, insertAt), '-A', '-X', ...call.args.slice(insertAt)];
  try {
    return { result: await runRsync(ctx, { ...call, args: withAX }), xattrsKept: true };
  } catch (err) {
    if (xattrs !== 'auto' || !isXattrRefusal(err)) throw err;
    ctx.report.warn(`${call.what}: extended attributes/ACLs could not be kept (${firstLine(err)}); copying again without them`);
    return { result: await runRsync(ctx, call), xattrsKept: false };
  }
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  const line = (e.stderr ?? '').split('\n').find((l) => l.startsWith('rsync:'));
  return line ?? e.message ?? String(err);
}
