// Applies override trees (`overrides/NAME/`) over the laid-down image, in order, each over the previous.

import type { RetryPolicy } from '../../net/retry.js';
import { withContext } from '../../errors.js';
import { explainNoSpace, isMissingSource, missingSources } from './errors.js';
import { explainUnknownModule, CONNECT_TIMEOUT_S } from './modules.js';
import { runRsyncWithXattrs, type TransportCtx, type XattrMode } from './run.js';
import { checkName, rsyncUrl } from './url.js';

export interface OverridesOptions {
  server: string;
  port?: number;
  /** Override names, least important first (global, groups, host). */
  names: string[];
  dest: string;
  /** As for the image (default 'auto'). */
  xattrs?: XattrMode;
  timeoutMs?: number;
  retry?: RetryPolicy;
}

// --ignore-times: rsync's quick check (same size and mtime) would skip an override file whose size and time
// happen to match the file it must replace (common for generated trees); an override must always win.
const OVERRIDE_ARGS: readonly string[] = ['-aHS', '--ignore-times', '--numeric-ids', `--contimeout=${CONNECT_TIMEOUT_S}`];

/** Copies each override over dest in the given order; a missing override is a warning, any other failure is fatal. */
export async function applyOverrides(ctx: TransportCtx, opts: OverridesOptions): Promise<{ applied: string[]; missing: string[] }> {
  const names = opts.names.map((n) => checkName(n, 'override'));
  if (names.length > 1) {
    const together = await applyTogether(ctx, opts, names);
    if (together) return together;
  }
  return await applyOneByOne(ctx, opts, names);
}

/**
 * Every override in one rsync run, so one daemon connection (each costs rsync's start and wind-down, about 0.1 s).
 * rsync keeps the first of several sources' entries for the same path (file contents and directory modes alike), so
 * the most important override goes first: the result is that of applying them one by one, least important first.
 * Missing overrides are told apart as one by one; any other failure gives null, and the caller applies them one by
 * one, which names the override that failed. One case differs: where one override has a directory and another a
 * file or link at the same path, rsync keeps the directory; one by one, replacing a non-empty directory fails.
 */
async function applyTogether(ctx: TransportCtx, opts: OverridesOptions, names: string[]): Promise<{ applied: string[]; missing: string[] } | null> {
  const dest = opts.dest.endsWith('/') ? opts.dest : opts.dest + '/';
  const urls = [...names].reverse().map((n) => rsyncUrl(opts.server, opts.port, `overrides/${n}/`));
  try {
    await runRsyncWithXattrs(ctx, { what: `apply overrides ${names.join(' ')}`, args: [...OVERRIDE_ARGS, ...urls, dest], timeoutMs: opts.timeoutMs, retry: opts.retry }, opts.xattrs ?? 'auto', 1);
    return { applied: names, missing: [] };
  } catch (err) {
    explainNoSpace(err, dest);
    const missing = missingSources(err, 'overrides', names);
    if (missing === null) {
      ctx.report.debug(`overrides in one run failed (${(err as Error).message.split('\n')[0]}); applying them one by one`);
      return null;
    }
    for (const m of missing) ctx.report.warn(`override ${m} does not exist on the image server (overrides/${m}/): skipped`);
    return { applied: names.filter((n) => !missing.includes(n)), missing };
  }
}

/** Applies the overrides one rsync run each, in order. */
async function applyOneByOne(ctx: TransportCtx, opts: OverridesOptions, names: string[]): Promise<{ applied: string[]; missing: string[] }> {
  const applied: string[] = [];
  const missing: string[] = [];
  const dest = opts.dest.endsWith('/') ? opts.dest : opts.dest + '/';
  for (const name of names) {
    const url = rsyncUrl(opts.server, opts.port, `overrides/${name}/`);
    const args = [...OVERRIDE_ARGS, url, dest];
    try {
      await runRsyncWithXattrs(ctx, { what: `apply override ${name}`, args, timeoutMs: opts.timeoutMs, retry: opts.retry }, opts.xattrs ?? 'auto', 1);
      applied.push(name);
    } catch (err) {
      explainNoSpace(err, dest);
      if (isMissingSource(err, 'overrides', name)) {
        ctx.report.warn(`override ${name} does not exist on the image server (overrides/${name}/): skipped`);
        missing.push(name);
        continue;
      }
      try {
        await explainUnknownModule(ctx, err, opts.server, opts.port);
      } catch (e) {
        throw withContext(e, `applying override ${name}`);
      }
    }
  }
  return { applied, missing };
}
