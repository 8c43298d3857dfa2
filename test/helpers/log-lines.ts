// A reporter whose log lines a unit test reads back as "<level> <message>".

import { Reporter } from '../../agent/report/events.js';

export function collectLog(): { report: Reporter; lines: string[] } {
  const lines: string[] = [];
  const report = new Reporter();
  report.addSink((e) => {
    if (e.type === 'log') lines.push(`${e.level} ${e.message}`);
  });
  return { report, lines };
}
