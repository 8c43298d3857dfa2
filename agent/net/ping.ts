// Ping test to the image server (SPEC 1 step 5): three tries, then a warning and the install goes on.

import { isIPv6 } from 'node:net';
import type { Runner } from '../exec/runner.js';
import type { Reporter } from '../report/events.js';
import { sleepAbortable } from './retry.js';

export interface PingOptions {
  run: Runner;
  report: Reporter;
  signal?: AbortSignal;
  /** Tries before giving up (default 3). */
  tries?: number;
  /** Pause between tries (default 1000 ms). */
  pauseMs?: number;
}

/** Pings host with `ping -c 1 -W 2` (`-6` for an IPv6 address) up to three times; true on the first answer, false (with a warning) when none came. */
export async function pingHost(host: string, opts: PingOptions): Promise<boolean> {
  const tries = opts.tries ?? 3;
  // `--` keeps a value from the parameters from ever being read as an option.
  // An IPv6 literal needs -6 (busybox's ping does not guess; iputils' does, and accepts -6 too).
  const args = [...(isIPv6(host) ? ['-6'] : []), '-c', '1', '-W', '2', '--', host];
  for (let i = 1; i <= tries; i++) {
    try {
      const r = await opts.run('ping', args, { timeout: 10_000, allowFail: true, quiet: true, ...(opts.signal ? { signal: opts.signal } : {}) });
      if (r.code === 0) {
        opts.report.info(`ping ${host}: answered (try ${i} of ${tries})`);
        return true;
      }
      opts.report.info(`ping ${host}: no answer (try ${i} of ${tries})`);
    } catch (err) {
      // ping missing or killed: the check is advisory, so it only warns.
      opts.report.info(`ping ${host}: ${(err as Error).message.split('\n')[0]} (try ${i} of ${tries})`);
    }
    if (i < tries) await sleepAbortable(opts.pauseMs ?? 1000, opts.signal);
  }
  opts.report.warn(`${host} did not answer ${tries} pings; going on (it may drop ICMP)`);
  return false;
}
