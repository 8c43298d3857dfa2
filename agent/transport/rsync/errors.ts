// Reads rsync's exit codes and messages: which failures are worth a retry, which mean "no such module/override".

import { readFileSync } from 'node:fs';
import { CommandError, SiError } from '../../errors.js';
import { systemPaths } from '../../exec/tools.js';

/** Exit codes that mean the connection or the stream broke (5 start of protocol, 10 socket, 12 stream, 30 and 35 timeouts). */
export const RETRYABLE_EXIT_CODES: readonly number[] = [5, 10, 12, 30, 35];

const NO_SPACE = /No space left on device \(28\)/;

/** Daemon refusals that will not get better by asking again (exit 5 like a busy server, but permanent). */
const PERMANENT_DAEMON_ERRORS = /@ERROR: *(Unknown module|auth failed|access denied|chroot failed|chdir failed|invalid gid|invalid uid)/i;

/** The module name when rsync's daemon said `@ERROR: Unknown module 'x'`, else null. */
export function unknownModuleOf(stderr: string): string | null {
  const m = /@ERROR: *Unknown module '([^']*)'/.exec(stderr);
  return m ? m[1]! : null;
}

/** True when an rsync failure is a connection or stream problem that a retry may cure. */
export function isRetryableRsyncError(err: unknown): boolean {
  if (!(err instanceof CommandError)) return false;
  if (err.code === 'E_TIMEOUT') return true;
  if (err.exitCode === null || !RETRYABLE_EXIT_CODES.includes(err.exitCode)) return false;
  // A full target stays full: the stream breaks because the receiver gave up, not because the network did.
  if (NO_SPACE.test(err.stderr)) return false;
  return !PERMANENT_DAEMON_ERRORS.test(err.stderr);
}

/** rsync's lines that report an error (its own `rsync:` / `rsync error:` / `@ERROR` lines). */
export function rsyncErrorLines(stderr: string): string[] {
  return stderr.split('\n').map((l) => l.trim()).filter((l) => /^(rsync:|rsync error:|@ERROR)/.test(l));
}

/**
 * True when rsync failed only because `module/name/` does not exist on the server.
 * The sender's own words are required (`change_dir "/name" (in module) failed: No such file or directory (2)`, or the
 * `link_stat` form), exit 23, and no other error line, so a receiver-side failure is never taken for a missing source.
 */
export function isMissingSource(err: unknown, module: string, name: string): boolean {
  return missingSources(err, module, [name])?.includes(name) ?? false;
}

/**
 * The names among `names` that an rsync run with several sources `module/name/` found missing, when that is all that
 * went wrong (exit 23, every error line a missing source of these or the daemon's hang-up); null for any other failure.
 */
export function missingSources(err: unknown, module: string, names: readonly string[]): string[] | null {
  if (!(err instanceof CommandError) || err.exitCode !== 23) return null;
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const missingLine = (n: string) => new RegExp(`^rsync: \\[sender\\] (change_dir|link_stat) "/?${esc(n)}/?" \\(in ${esc(module)}\\) failed: No such file or directory \\(2\\)$`);
  const patterns = names.map((n) => [n, missingLine(n)] as const);
  const lines = rsyncErrorLines(err.stderr);
  // The daemon hangs up right after refusing the source; the receiver may report that hang-up too.
  const benign = /^(rsync error: some files\/attrs were not transferred|rsync: \[Receiver\] read error: Connection reset by peer)/;
  const missing = names.filter((n, i) => lines.some((l) => patterns[i]![1].test(l)));
  const others = lines.filter((l) => !benign.test(l) && !patterns.some(([, re]) => re.test(l)));
  return missing.length > 0 && others.length === 0 ? missing : null;
}

/**
 * True when a failure came from the receiving filesystem (or an old server) refusing xattrs/ACLs, so the same
 * transfer without -A/-X may succeed: every error line must be about xattrs or ACLs.
 */
export function isXattrRefusal(err: unknown): boolean {
  if (!(err instanceof CommandError) || err.exitCode === null) return false;
  const lines = rsyncErrorLines(err.stderr).filter((l) => !/^rsync error:/.test(l));
  if (lines.length === 0) return false;
  const about = /(xattr|acl|extended attributes|Operation not supported \(95\)|ACLs are not supported|not supported on this (client|server))/i;
  return lines.every((l) => about.test(l));
}

/** The mount point holding path: the longest mounted path that contains it (from /proc/self/mounts). */
export function mountPointOf(path: string, mountsText: string): { mp: string; dev: string } | null {
  let best: { mp: string; dev: string } | null = null;
  for (const line of mountsText.split('\n')) {
    const [dev, raw] = line.split(' ');
    if (!dev || !raw) continue;
    const mp = raw.replace(/\\040/g, ' ');
    const inside = path === mp || path.startsWith(mp.endsWith('/') ? mp : mp + '/');
    if (inside && (!best || mp.length > best.mp.length)) best = { mp, dev };
  }
  return best;
}

/** Throws a clear E_TRANSFER naming the full filesystem when rsync failed with ENOSPC under dest; otherwise returns. */
export function explainNoSpace(err: unknown, dest: string): void {
  if (!(err instanceof CommandError) || !NO_SPACE.test(err.stderr)) return;
  const line = err.stderr.split('\n').find((l) => NO_SPACE.test(l)) ?? '';
  const path = /"([^"]+)"/.exec(line)?.[1] ?? dest;
  let mounts = '';
  try {
    mounts = readFileSync(systemPaths().procMounts, 'utf8');
  } catch {
    /* no mount table: the path alone is named */
  }
  const where = mountPointOf(path.startsWith('/') ? path : `${dest.replace(/\/$/, '')}/${path}`, mounts);
  const fs = where ? `${where.mp} (${where.dev})` : dest;
  throw new SiError('E_TRANSFER', `the target filesystem ${fs} is full: no space left writing ${path}; the image does not fit this layout`, { cause: err, details: err.details });
}
