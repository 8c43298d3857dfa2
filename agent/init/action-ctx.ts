// What the post-install action needs of the install's context, declared here so agent/init depends on nothing above it.

import type { Runner } from '../exec/runner.js';
import type { Reporter } from '../report/events.js';

/** The runner, the reporter, the abort signal, the target and the disk plan: the steps' context has them all. */
export interface ActionCtx {
  run: Runner;
  report: Reporter;
  signal: AbortSignal;
  opts: { sysroot: string };
  state: { diskPlan?: unknown };
}
