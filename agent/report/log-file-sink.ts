// File sinks: /tmp/si.log (timestamped human lines) and a JSON-lines event file; synchronous appends, nothing lost.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Sink, Stamped } from './events.js';
import { describeEvent } from './describe-event.js';
import { createProgressThrottle } from './progress-throttle.js';

export interface FileSink {
  sink: Sink;
  close(): Promise<void>;
}

/** `2026-11-25T21:00:00.123Z INFO message`, one line per line of text. */
export function formatLogLines(e: Stamped): string[] {
  const { level, text } = describeEvent(e);
  const stamp = `${new Date(e.ts).toISOString()} ${level.toUpperCase()}`;
  return text.split('\n').map((l, i) => (i === 0 ? `${stamp} ${l}` : `${stamp}   ${l}`));
}

/**
 * Opens `path` for appending (creating its directory) and returns a writer.
 * Writes are synchronous so a line is on disk before the next step runs, and
 * nothing is lost when PID 1 drops to a shell or reboots right after close().
 */
function openAppender(path: string): { write(text: string): void; close(): void } {
  mkdirSync(dirname(path), { recursive: true });
  let fd: number | null = openSync(path, 'a');
  return {
    write(text) {
      if (fd === null) return;
      try {
        writeSync(fd, text);
      } catch {
        // A full or vanished /tmp must not stop the install.
      }
    },
    close() {
      if (fd === null) return;
      const f = fd;
      fd = null;
      try {
        closeSync(f);
      } catch {
        // already closed
      }
    },
  };
}

/** A sink appending every event as timestamped human lines (progress every 10 % or 10 s). */
export function createLogFileSink(path: string): FileSink {
  const file = openAppender(path);
  const throttle = createProgressThrottle();
  return {
    sink: (e) => {
      if (e.type === 'progress' && !throttle(e)) return;
      file.write(formatLogLines(e).map((l) => `${l}\n`).join(''));
    },
    close: async () => file.close(),
  };
}

/** A sink appending every event, unfiltered, as one JSON object per line. */
export function createJsonLinesSink(path: string): FileSink {
  const file = openAppender(path);
  return {
    sink: (e) => file.write(`${JSON.stringify(e)}\n`),
    close: async () => file.close(),
  };
}
