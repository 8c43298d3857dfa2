// What the transports share: the context they run in, the server they talk to, and what they tell of themselves.

import type { Runner } from '../exec/runner.js';
import type { RetryPolicy } from '../net/retry.js';
import type { Reporter } from '../report/events.js';

/** What a transport needs from its caller (the install context fits). */
export interface TransportCtx {
  run: Runner;
  report: Reporter;
  signal?: AbortSignal;
  /** Backoff for connection failures; defaults 5 attempts, 200 ms doubling to 5 s, 60 s deadline. */
  retry?: RetryPolicy;
}

/** A server and its port: the rsync daemon, directly or through an SSH tunnel's local end. */
export interface Endpoint {
  server: string;
  port: number;
}

/** What the monitor and the log are told of the transport in use, beyond 4.3's fields (name, SSH host key, tallies). */
export type TransportInfo = Record<string, string>;
