// A transport context for tests: a real runner and reporter whose events are collected for assertions.

import { createRunner } from '../../agent/exec/runner.js';
import { Reporter, type SiEvent, type Stamped } from '../../agent/report/events.js';
import type { RetryPolicy } from '../../agent/net/retry.js';
import type { TransportCtx } from '../../agent/transport/rsync/rsync.js';

export interface CollectingCtx extends TransportCtx {
  events: Stamped[];
  /** Events of one type, typed. */
  of<T extends SiEvent['type']>(type: T): Array<Stamped<Extract<SiEvent, { type: T }>>>;
  /** Messages of the log events at this level. */
  logs(level: 'debug' | 'info' | 'warn' | 'error'): string[];
}

/** Makes a context with a collecting reporter, the real runner and an optional retry policy (small backoff for tests). */
export function makeCollectingCtx(retry?: RetryPolicy): CollectingCtx {
  const report = new Reporter();
  const events: Stamped[] = [];
  report.addSink((e) => events.push(e));
  return {
    run: createRunner(report),
    report,
    retry,
    events,
    of: (type) => events.filter((e) => e.type === type) as never,
    logs: (level) => events.flatMap((e) => (e.type === 'log' && e.level === level ? [e.message] : [])),
  };
}
