// Turns any event into a level and human text: the words the log file, syslog and console share.

import { quoteArgv } from '../errors.js';
import type { Level, SiEvent } from './events.js';
import { formatDuration, formatProgressLine } from './format.js';

type FatalEvent = Extract<SiEvent, { type: 'fatal' }>;

export interface Described {
  level: Level;
  /** One or more lines (joined with `\n`). */
  text: string;
}

/** The level and human text of one event. */
export function describeEvent(e: SiEvent): Described {
  switch (e.type) {
    case 'step-start':
      return { level: 'info', text: `==> ${e.title} (${e.step})` };
    case 'step-end':
      return e.ok
        ? { level: 'info', text: `<== ${e.step} ok ${formatDuration(e.ms)}` }
        : { level: 'error', text: `<== ${e.step} FAILED after ${formatDuration(e.ms)}${e.error ? `: ${e.error}` : ''}` };
    case 'command':
      return { level: 'info', text: `$ ${quoteArgv(e.argv)}` };
    case 'command-end': {
      const how = e.code === null ? `killed by ${e.signal ?? 'signal'}` : `exit ${e.code}`;
      return { level: e.code === 0 || e.quiet ? 'debug' : 'info', text: `${how} after ${formatDuration(e.ms)}: ${e.argv[0] ?? ''}` };
    }
    case 'progress':
      return { level: 'info', text: formatProgressLine(e) };
    case 'retry':
      return { level: 'warn', text: `retrying ${e.what} in ${formatDuration(e.delayMs)} (attempt ${e.attempt}): ${e.error}` };
    case 'log':
      return { level: e.level, text: e.message };
    case 'status':
      return { level: 'info', text: `monitor status ${e.status}${e.message ? `: ${e.message}` : ''}` };
    case 'fatal':
      return { level: 'error', text: formatFatalReport(e).join('\n') };
    case 'transport':
      return { level: 'info', text: describeTransport(e) };
    case 'steps-planned':
      return { level: 'debug', text: `plan: ${e.steps.length} steps: ${e.steps.map((s) => s.step).join(', ')}` };
  }
}

/** One line for the transport event: `transport: ssh (root@10.0.0.1:22, host key SHA256:...)`. */
export function describeTransport(e: Extract<SiEvent, { type: 'transport' }>): string {
  const parts = [e.peer, e.fingerprint ? `host key ${e.fingerprint}` : undefined, e.detail].filter(Boolean);
  return `transport: ${e.transport}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

/** The shellout report as lines: failing step, message, indented details and each disk's state. */
export function formatFatalReport(e: FatalEvent): string[] {
  const lines = [`INSTALL FAILED${e.step ? ` in step "${e.step}"` : ''}`];
  for (const l of e.message.split('\n')) lines.push(`    ${l}`);
  if (e.details.length > 0) {
    lines.push('  Details:');
    for (const d of e.details) for (const l of d.split('\n')) lines.push(`    ${l}`);
  }
  if (e.disks.length > 0) {
    lines.push('  Disks:');
    for (const d of e.disks) for (const l of d.split('\n')) lines.push(`    ${l}`);
  }
  return lines;
}
