// Lays an image down from the rsync daemon (SPEC 7), with progress, and the TMPFS_STAGING two-hop variant.

import { SiError } from '../../errors.js';
import { createProgressTracker, type RsyncProgress } from './progress.js';
import { explainNoSpace } from './errors.js';
import { explainUnknownModule, CONNECT_TIMEOUT_S } from './modules.js';
import { runRsyncWithXattrs, type TransportCtx, type XattrMode } from './run.js';
import { checkName, rsyncUrl } from './url.js';
import type { RetryPolicy } from '../../net/retry.js';

export interface ImageOptions {
  server: string;
  port?: number;
  /** The image's rsync module (IMAGENAME). */
  module: string;
  dest: string;
  /** Keep xattrs and ACLs: true forces -AX, false never, 'auto' (default) tries -AX and falls back (see runRsyncWithXattrs). */
  xattrs?: XattrMode;
  /** Progress updates; when absent they go to the reporter as `progress` events, phase `image`. */
  onProgress?: (p: RsyncProgress) => void;
  /**
   * The image's size in bytes when a listing made before knows it (the size check's dry run): progress is counted
   * against it, and rsync need not list the whole image before it starts copying (--no-inc-recursive costs about 5 %
   * of a local copy of a system image).
   */
  totalBytes?: number;
  /** Delete target files that the image does not have (excluded paths are kept). */
  deleteExtra?: boolean;
  extraArgs?: string[];
  timeoutMs?: number;
  retry?: RetryPolicy;
}

export interface StageOptions extends ImageOptions {
  /** A directory on a tmpfs the caller mounted: the image lands here first, then goes to dest. */
  staging: string;
}

/**
 * Retries of the image copy: a daemon restarted or a link back within about half a minute is waited for; each new
 * run skips what is already there and, with --partial, goes on from the part of a big file already received.
 */
export const IMAGE_RETRY: RetryPolicy = { attempts: 10, baseMs: 1000, capMs: 10_000, deadlineMs: 6 * 3600_000 };

/** rsync's I/O timeout: a connection silent this long is given up (and retried); TCP rides out shorter outages. */
export const IO_TIMEOUT_S = 120;

/** The SPEC 7 excludes: a target's own lost+found and the image's /proc contents. */
export const IMAGE_EXCLUDES: readonly string[] = ['--exclude=lost+found/', '--exclude=/proc/*'];

function withSlash(dir: string): string {
  return dir.endsWith('/') ? dir : dir + '/';
}

function progressSink(ctx: TransportCtx, opts: ImageOptions, phase: string): (p: RsyncProgress) => void {
  return opts.onProgress ?? ((p) => ctx.report.emit({ type: 'progress', phase, ...p }));
}

/** Copies the image module into dest with `rsync -aHS --numeric-ids` (+ -AX), reporting progress; returns bytes and seconds. */
export async function rsyncImage(ctx: TransportCtx, opts: ImageOptions): Promise<{ bytes: number; seconds: number; xattrsKept: boolean }> {
  const module = checkName(opts.module, 'image');
  const url = rsyncUrl(opts.server, opts.port, module + '/');
  const started = Date.now();
  const report = progressSink(ctx, opts, 'image');
  // The most bytes any attempt got to, for the failure message.
  let mostBytes = 0;
  const sink = (p: RsyncProgress) => {
    mostBytes = Math.max(mostBytes, p.bytesDone);
    report(p);
  };
  const known = opts.totalBytes !== undefined && opts.totalBytes > 0 ? opts.totalBytes : undefined;
  const newTracker = () => createProgressTracker(sink, undefined, undefined, known);
  let tracker = newTracker();
  const args = [
    '-aHS', '--numeric-ids', ...IMAGE_EXCLUDES,
    '--info=progress2', ...(known ? [] : ['--no-inc-recursive']), '--stats', `--contimeout=${CONNECT_TIMEOUT_S}`, `--timeout=${IO_TIMEOUT_S}`, '--partial',
    ...(opts.deleteExtra ? ['--delete'] : []),
    ...(opts.extraArgs ?? []),
    url, withSlash(opts.dest),
  ];
  try {
    const call = {
      what: `lay down image ${module} from ${url}`,
      args,
      timeoutMs: opts.timeoutMs,
      // A transfer that breaks after a long run is still worth retrying: bound it by attempts, not the 60 s deadline.
      retry: { ...IMAGE_RETRY, ...opts.retry },
      onAttempt: (n: number) => {
        if (n > 1) tracker = newTracker();
      },
      // A system image prints a progress line per file, thousands a second: read them four times a second.
      stdoutPoll: { everyMs: 250, onTail: (text: string, final: boolean) => tracker.feedTail(text, final) },
    };
    const { xattrsKept } = await runRsyncWithXattrs(ctx, call, opts.xattrs ?? 'auto', 1);
    const bytes = tracker.finish();
    return { bytes, seconds: (Date.now() - started) / 1000, xattrsKept };
  } catch (err) {
    explainNoSpace(err, opts.dest);
    try {
      return await explainUnknownModule(ctx, err, opts.server, opts.port);
    } catch (e) {
      const se = e as SiError;
      throw new SiError(se.code ?? 'E_TRANSFER', `image ${module} from ${opts.server}:${opts.port ?? 873}: ${mostBytes} bytes copied, then: ${se.message}`, { cause: e, details: se.details });
    }
  }
}

/**
 * TMPFS_STAGING=yes: the image goes from the server into `staging` (a tmpfs the caller mounted and will unmount),
 * then from there to dest with a local `rsync -aHS --numeric-ids`, so the network transfer never waits on the disk.
 */
export async function stageViaTmpfs(ctx: TransportCtx, opts: StageOptions): Promise<{ bytes: number; seconds: number }> {
  const started = Date.now();
  const first = await rsyncImage(ctx, { ...opts, dest: opts.staging, deleteExtra: true });
  ctx.report.info(`image ${opts.module} staged in ${opts.staging} (${first.bytes} bytes); copying to ${opts.dest}`);
  const args = ['-aHS', '--numeric-ids', ...(opts.deleteExtra ? ['--delete', '--exclude=lost+found/'] : []), withSlash(opts.staging), withSlash(opts.dest)];
  // Keep xattrs on the second hop only if the first kept them; 'auto' still falls back if the disk refuses them.
  const mode: XattrMode = first.xattrsKept ? (opts.xattrs === true ? true : 'auto') : false;
  await runRsyncWithXattrs(ctx, { what: `copy the staged image to ${opts.dest}`, args, timeoutMs: opts.timeoutMs, retry: { attempts: 1 } }, mode, 1);
  return { bytes: first.bytes, seconds: (Date.now() - started) / 1000 };
}
