// The si_monitor protocol (SPEC 9): one `key=value:...` line per TCP connection, status and image progress.

import type { Sink } from './events.js';
import { sendLine, sleep } from './tcp-send.js';

/** What the client tells the monitor about itself on every message. */
export interface MonitorInfo {
  mac: string;
  ip: string;
  host: string;
  cpu: string;
  ncpus: number | null;
  kernel: string;
  /** Physical memory, kB. */
  mem: number | null;
  /** IMAGENAME. */
  os: string;
  /** Use % of the initrd's tmpfs. */
  tmpfs: number | null;
  /** Uptime, seconds. */
  time: number | null;
  /** Fields beyond 4.3's, sent after speed when set: the transport and the SSH peer's host key. */
  extra?: Record<string, string>;
}

export interface MonitorSinkOptions {
  server: string;
  port: number;
  info: () => MonitorInfo;
  /** Least time between two progress messages (default 10 000 ms, as 4.3's REPORT_INTERVAL). */
  intervalMs?: number;
  /** Failed attempts before the monitor is reported as not answering (default 3); backoff from retryDelayMs (default 200 ms) doubling to retryCapMs (default 5000 ms). */
  retries?: number;
  retryDelayMs?: number;
  retryCapMs?: number;
  /** Per-attempt connect+write timeout (default 3000 ms). */
  timeoutMs?: number;
  /** Longest close() waits for queued status messages (default 3000 ms). */
  closeTimeoutMs?: number;
  /** Told when the monitor stops answering (messages are kept, not dropped), when it answers again, and of what close() could not deliver. */
  onError?: (message: string) => void;
}

/** Makes a value safe inside the line: no `:` (field separator), `=`, or control characters. */
export function sanitizeMonitorValue(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  return v.replace(/[\x00-\x1f\x7f]+/g, ' ').replace(/:/g, '.').replace(/=/g, '_').trim();
}

/** One si_monitor line (no newline), fields in 4.3's order; the first message carries first_timestamp=on. */
export function formatMonitorMessage(info: MonitorInfo, status: number, speedKBs: number, first: boolean): string {
  const c = sanitizeMonitorValue;
  const speed = Number.isFinite(speedKBs) && speedKBs > 0 ? Math.round(speedKBs * 100) / 100 : 0;
  const fields = [
    `mac=${c(info.mac).toUpperCase()}`,
    `ip=${c(info.ip)}`,
    `host=${c(info.host)}`,
    `cpu=${c(info.cpu)}`,
    `ncpus=${c(info.ncpus)}`,
    `kernel=${c(info.kernel)}`,
    `mem=${c(info.mem)}`,
    `os=${c(info.os)}`,
    // 4.3 took this column from df, percent sign included.
    `tmpfs=${info.tmpfs === null ? '' : `${c(info.tmpfs)}%`}`,
    `time=${c(info.time)}`,
    `status=${Math.trunc(status)}`,
  ];
  if (first) fields.push('first_timestamp=on');
  fields.push(`speed=${speed}`);
  for (const [k, v] of Object.entries(info.extra ?? {})) fields.push(`${k}=${c(v)}`);
  return fields.join(':');
}

interface Queued {
  line: string;
  progress: boolean;
}

/** Makes a sink that reports `status` events and throttled image progress to the monitor server. */
export function createMonitorSink(opts: MonitorSinkOptions): { sink: Sink; close(): Promise<void> } {
  const intervalMs = opts.intervalMs ?? 10_000;
  const retries = opts.retries ?? 3;
  const retryDelayMs = opts.retryDelayMs ?? 200;
  const retryCapMs = opts.retryCapMs ?? 5000;
  const abort = new AbortController();
  let queue: Queued[] = [];
  let pumping: Promise<void> | null = null;
  let first = true;
  let finished = false; // a terminal status was sent: progress is over
  let closed = false;
  let lastProgressTs: number | null = null;

  const readInfo = (): MonitorInfo => {
    try {
      return opts.info();
    } catch {
      return { mac: '', ip: '', host: '', cpu: '', ncpus: null, kernel: '', mem: null, os: '', tmpfs: null, time: null };
    }
  };

  const where = `monitor ${opts.server}:${opts.port}`;
  let failures = 0;
  // A monitor that is down or stalled never holds the install up: messages wait in order (progress coalesced)
  // and go out when it answers again; only close() gives up, after its deadline.
  const pump = async (): Promise<void> => {
    while (queue.length > 0 && !abort.signal.aborted) {
      const item = queue.shift()!;
      try {
        await sendLine({ host: opts.server, port: opts.port, line: item.line, timeoutMs: opts.timeoutMs, signal: abort.signal });
        if (failures > retries) opts.onError?.(`${where} answers again; queued messages are being sent`);
        failures = 0;
      } catch (err) {
        // Kept at the head unless a newer progress figure already replaces it.
        if (!(item.progress && queue.some((q) => q.progress))) queue.unshift(item);
        failures++;
        if (failures === retries + 1) opts.onError?.(`${where} not answering (${err instanceof Error ? err.message : String(err)}): messages are kept and sent when it answers`);
        await sleep(Math.min(retryCapMs, retryDelayMs * 2 ** Math.min(failures - 1, 20)), abort.signal);
      }
    }
    pumping = null;
  };

  const enqueue = (status: number, speed: number, progress: boolean): void => {
    // A newer progress figure replaces one still waiting: a slow server gets the latest, not a backlog.
    if (progress) queue = queue.filter((q) => !q.progress);
    queue.push({ line: formatMonitorMessage(readInfo(), status, speed, first), progress });
    first = false;
    pumping ??= pump();
  };

  const sink: Sink = (e) => {
    if (closed) return;
    if (e.type === 'status') {
      if (e.status >= 100 || e.status < 0) finished = true;
      enqueue(e.status, 0, false);
    } else if (e.type === 'progress' && e.phase === 'image' && !finished) {
      if (lastProgressTs !== null && e.ts - lastProgressTs < intervalMs) return;
      lastProgressTs = e.ts;
      const pct = Math.max(1, Math.min(99, Math.floor(Number.isFinite(e.percent) ? e.percent : 0)));
      enqueue(pct, e.speedKBs, true);
    }
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    queue = queue.filter((q) => !q.progress);
    if (pumping) {
      const stop = new AbortController();
      await Promise.race([pumping, sleep(opts.closeTimeoutMs ?? 3000, stop.signal)]);
      stop.abort();
    }
    abort.abort();
    if (pumping) await pumping;
    if (queue.length > 0) opts.onError?.(`${where}: ${queue.length} message(s) not delivered before the end: ${queue.map((q) => q.line).join(' | ')}`);
  };

  return { sink, close };
}
