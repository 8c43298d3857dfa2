// The boot timeline: what this process's own start cost, for the console lines the boot benchmark stamps.

import { performance } from 'node:perf_hooks';

/** Seconds since this process started, with two decimals. */
export function sinceStart(): string {
  return (performance.now() / 1000).toFixed(2);
}

/**
 * How this Node process's start divides: the runtime's own bootstrap (V8, Node's internals) and the agent's code
 * (loading and evaluating the bundle), up to now.
 */
export function startCost(): string {
  const t = performance.nodeTiming;
  const runtime = t.bootstrapComplete / 1000;
  const total = performance.now() / 1000;
  return `started in ${total.toFixed(2)} s (Node runtime ${runtime.toFixed(2)} s, agent code ${(total - runtime).toFixed(2)} s)`;
}
