// Decides which progress events a line-oriented sink prints: at most every N percent or N seconds.

import type { Stamped } from './events.js';
import { clampPercent, hasTotal, type ProgressEvent } from './format.js';

export interface ThrottleOptions {
  /** Print when the percent has moved by this much since the last print (default 10). */
  stepPercent?: number;
  /** Print when this long has passed since the last print (default 10 000 ms). */
  intervalMs?: number;
}

/** Returns a predicate: true for the progress events worth a line (first, every 10 %, every 10 s, the end). */
export function createProgressThrottle(opts: ThrottleOptions = {}): (e: Stamped<ProgressEvent>) => boolean {
  const stepPercent = opts.stepPercent ?? 10;
  const intervalMs = opts.intervalMs ?? 10_000;
  let phase: string | null = null;
  let lastBucket = -1;
  let lastTs = 0;
  let done = false;
  return (e) => {
    const pct = clampPercent(e.percent);
    const bucket = hasTotal(e) ? Math.floor(pct / stepPercent) : -1;
    const restarted = e.phase !== phase || (hasTotal(e) && bucket < lastBucket);
    if (restarted) {
      phase = e.phase;
      done = false;
    } else if (done) {
      return false;
    }
    const finished = hasTotal(e) && pct >= 100;
    const due = restarted || bucket > lastBucket || e.ts - lastTs >= intervalMs || finished;
    if (!due) return false;
    lastBucket = bucket;
    lastTs = e.ts;
    done = finished;
    return true;
  };
}
