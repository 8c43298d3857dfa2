// Pure formatters for sizes, durations, speeds and the progress bar/line shared by the sinks.

import type { SiEvent } from './events.js';

export type ProgressEvent = Extract<SiEvent, { type: 'progress' }>;

const UNITS = ['KB', 'MB', 'GB', 'TB', 'PB'];

/** Renders a byte count with binary units: `512 B`, `1.5 KB`, `12.3 MB`, `1.20 GB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '? B';
  if (n < 1024) return `${Math.round(n)} B`;
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  // GB and up get two decimals: an image of 1.2x GB moves slowly at one decimal.
  return `${v.toFixed(i >= 2 ? 2 : 1)} ${UNITS[i]}`;
}

/** Renders milliseconds for humans: `0.4s`, `12.0s`, `2m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '--';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const totalS = Math.round(ms / 1000);
  if (totalS < 3600) {
    const m = Math.floor(totalS / 60);
    return `${m}m${String(totalS % 60).padStart(2, '0')}s`;
  }
  const totalM = Math.floor(totalS / 60);
  return `${Math.floor(totalM / 60)}h${String(totalM % 60).padStart(2, '0')}m`;
}

/** Renders a speed given in KB/s: `850 KB/s` below 1 MB/s, else `12.3 MB/s`. */
export function formatSpeed(kbs: number): string {
  if (!Number.isFinite(kbs) || kbs < 0) return '? KB/s';
  if (kbs < 1024) return `${Math.round(kbs)} KB/s`;
  if (kbs < 1024 * 1024) return `${(kbs / 1024).toFixed(1)} MB/s`;
  return `${(kbs / 1024 / 1024).toFixed(2)} GB/s`;
}

/** True when the event knows how much there is to do. */
export function hasTotal(e: ProgressEvent): boolean {
  return e.bytesTotal !== null && e.bytesTotal > 0;
}

/** Clamps and rounds the event's percent to an integer 0..100. */
export function clampPercent(p: number): number {
  if (!Number.isFinite(p)) return 0;
  return Math.max(0, Math.min(100, Math.floor(p)));
}

/** The text after the bar: percent, bytes done/total, speed, ETA. */
function describeNumbers(e: ProgressEvent): string[] {
  const parts: string[] = [];
  if (hasTotal(e)) {
    parts.push(`${String(clampPercent(e.percent)).padStart(3)}%`);
    parts.push(`${formatBytes(e.bytesDone)}/${formatBytes(e.bytesTotal!)}`);
  } else {
    parts.push(formatBytes(e.bytesDone));
  }
  parts.push(formatSpeed(e.speedKBs));
  if (hasTotal(e)) parts.push(`ETA ${e.etaS === null ? '--' : formatDuration(e.etaS * 1000)}`);
  // Transport figures beyond the bytes (BitTorrent: upload rate and peers).
  if (e.extra) parts.push(e.extra);
  return parts;
}

/** A plain one-line progress report for logs and serial consoles. */
export function formatProgressLine(e: ProgressEvent): string {
  return `${e.phase}: ${describeNumbers(e).join(' ')}`;
}

/**
 * A single-line bar that fits in `width` columns (no newline):
 * `image [#########---------]  50% 1.20 GB/2.40 GB 12.3 MB/s ETA 1m40s`.
 * With an unknown total there is no bar, only bytes done and speed.
 */
export function formatProgressBar(e: ProgressEvent, width: number): string {
  const tail = describeNumbers(e).join('  ');
  const head = e.phase;
  if (!hasTotal(e)) return truncate(`${head}  ${tail}`, width - 1);
  // One column is kept free so the terminal never wraps onto a new line.
  const room = width - 1 - head.length - tail.length - 4;
  if (room < 10) return truncate(`${head}  ${tail}`, width - 1);
  const filled = Math.round((clampPercent(e.percent) / 100) * room);
  const bar = '#'.repeat(filled) + '-'.repeat(room - filled);
  return `${head} [${bar}] ${tail}`;
}

/** Cuts text to at most n characters. */
function truncate(text: string, n: number): string {
  return text.length <= n ? text : text.slice(0, Math.max(0, n));
}
