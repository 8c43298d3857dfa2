// Applies override trees (`overrides/NAME/`) over the laid-down image, in order, each over the previous.

import type { RetryPolicy } from '../net/retry.js';
import { withContext } from '../errors.js';
import { explainNoSpace, isMissingSource } from './rsync-errors.js';
import { explainUnknownModule, CONNECT_TIMEOUT_S } from './rsync-modules.js';
import { runRsyncWithXattrs, type TransportCtx, type XattrMode } from './rsync-run.js';
import { checkName, rsyncUrl } from './rsync-url.js';

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

/** Copies each override over dest in the given order; a missing override is a warning, any other failure is fatal. */
export async function applyOverrides(ctx: TransportCtx, opts: OverridesOptions): Promise<{ applied: string[]; missing: string[] }> {
  const names = opts.names.map((n) => checkName(n, 'override'));
  const applied: string[] = [];
  const missing: string[] = [];
  const dest = opts.dest.endsWith('/') ? opts.dest : opts.dest + '/';
  for (const name of names) {
    const url = rsyncUrl(opts.server, opts.port, `overrides/${name}/`);
    // --ignore-times: rsync's quick check (same size and mtime) would skip an override file whose size and time
    // happen to match the file it must replace (common for generated trees); an override must always win.
    const args = ['-aHS', '--ignore-times', '--numeric-ids', `--contimeout=${CONNECT_TIMEOUT_S}`, url, dest];
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
