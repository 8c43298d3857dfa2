// The console sink: numbered steps, warnings, a redrawn progress bar on a tty, and the shellout report.

import { quoteArgv } from '../errors.js';
import type { Sink, Stamped } from './events.js';
import { describeTransport, formatFatalReport } from './describe-event.js';
import { clampPercent, formatDuration, formatProgressBar, formatProgressLine, hasTotal, type ProgressEvent } from './format.js';
import { createProgressThrottle } from './progress-throttle.js';

export { formatBytes, formatDuration, formatProgressBar, formatProgressLine, formatSpeed } from './format.js';

export interface ConsoleSinkOptions {
  /** A terminal: the progress bar is redrawn in place with `\r`. */
  tty: boolean;
  /** Columns (default 80). */
  width?: number;
  /** Also print command lines, debug messages and monitor statuses. */
  verbose?: boolean;
  /** Number of steps when no `steps-planned` event announces them. */
  totalSteps?: number;
  /** Minimum time between two redraws of the bar (default 100 ms). */
  redrawMs?: number;
}

/** Makes a sink that renders events for a person watching the console (tty or serial log). */
export function createConsoleSink(out: NodeJS.WritableStream, opts: ConsoleSinkOptions): Sink {
  const width = Math.max(20, opts.width ?? 80);
  const redrawMs = opts.redrawMs ?? 100;
  const throttle = createProgressThrottle();
  let order: string[] = [];
  let total = opts.totalSteps ?? 0;
  let counter = 0;
  let bar: Stamped<ProgressEvent> | null = null;
  let barShown = false;
  let lastDraw = 0;

  const write = (s: string): void => {
    out.write(s);
  };
  const drawBar = (): void => {
    if (!bar) return;
    write(`\r${formatProgressBar(bar, width).padEnd(width - 1)}`);
    barShown = true;
    lastDraw = bar.ts;
  };
  // Leaves the last drawn bar on screen and moves below it.
  const finishBar = (): void => {
    if (barShown) write('\n');
    bar = null;
    barShown = false;
  };
  const printLines = (lines: string[]): void => {
    if (barShown) write(`\r${' '.repeat(width - 1)}\r`);
    barShown = false;
    for (const l of lines) write(`${l}\n`);
    if (bar) drawBar();
  };

  const onProgress = (e: Stamped<ProgressEvent>): void => {
    const finished = hasTotal(e) && clampPercent(e.percent) >= 100;
    if (!opts.tty) {
      if (throttle(e)) printLines([formatProgressLine(e)]);
      return;
    }
    if (bar && bar.phase !== e.phase) finishBar();
    const first = bar === null;
    bar = e;
    if (first || finished || e.ts - lastDraw >= redrawMs) drawBar();
    if (finished) finishBar();
  };

  return (e) => {
    switch (e.type) {
      case 'steps-planned':
        order = e.steps.map((s) => s.step);
        total = order.length;
        return;
      case 'step-start': {
        finishBar();
        const known = order.indexOf(e.step);
        counter = known >= 0 ? known + 1 : counter + 1;
        printLines([`==> [${total > 0 ? `${counter}/${total}` : counter}] ${e.title}`]);
        return;
      }
      case 'step-end':
        finishBar();
        printLines([e.ok ? `    ok ${formatDuration(e.ms)}` : `    FAILED after ${formatDuration(e.ms)}${e.error ? `: ${e.error}` : ''}`]);
        return;
      case 'command':
        if (opts.verbose) printLines([`    $ ${quoteArgv(e.argv)}`]);
        return;
      case 'command-end':
        if (opts.verbose && e.code !== 0) printLines([`    ${e.code === null ? `killed by ${e.signal ?? 'signal'}` : `exit ${e.code}`}: ${e.argv[0] ?? ''}`]);
        return;
      case 'progress':
        onProgress(e);
        return;
      case 'retry':
        printLines([`WARNING: retrying ${e.what} in ${formatDuration(e.delayMs)} (attempt ${e.attempt}): ${e.error}`]);
        return;
      case 'log':
        if (e.level === 'warn') printLines(prefixLines('WARNING: ', e.message));
        else if (e.level === 'error') printLines(prefixLines('ERROR: ', e.message));
        else if (e.level === 'info' || opts.verbose) printLines(prefixLines('    ', e.message));
        return;
      case 'status':
        if (opts.verbose) printLines([`    monitor status ${e.status}${e.message ? `: ${e.message}` : ''}`]);
        return;
      case 'transport':
        printLines([`    ${describeTransport(e)}`]);
        return;
      case 'fatal':
        finishBar();
        printLines(['', ...formatFatalReport(e), '']);
        return;
    }
  };
}

/** Prefixes the first line of a message and indents the rest to match. */
function prefixLines(prefix: string, message: string): string[] {
  const pad = ' '.repeat(prefix.length);
  return message.split('\n').map((l, i) => (i === 0 ? prefix : pad) + l);
}
