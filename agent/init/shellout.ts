// The shellout (SPEC 12): say what happened, show the log's tail and /etc/issue, then a shell on the console, forever.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { systemPaths, toolPath } from '../exec/tools.js';
import type { Reporter } from '../report/events.js';
import { findProgram } from './find-program.js';

/** Last n lines of the install log. */
export function tailLog(n: number, path = systemPaths().log): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean).slice(-n);
  } catch {
    return [];
  }
}

/** Runs one interactive shell on the console and resolves when it exits. */
function runShell(): Promise<void> {
  return new Promise((resolve) => {
    // setsid -c gives the shell the console as its controlling terminal, so job control and Ctrl-C work.
    const setsid = findProgram(toolPath('setsid'));
    const argv = setsid ? [setsid, '-c', toolPath('sh'), '-i'] : [toolPath('sh'), '-i'];
    const sh = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env: { ...process.env, PS1: 'si-agent shell # ' } });
    sh.on('error', () => setTimeout(resolve, 5000));
    sh.on('exit', () => resolve());
  });
}

/**
 * Flushes what the failed install wrote. The target stays mounted for the operator to look at; after this, a power
 * cycle from the shell loses nothing (without it, files written in the last seconds were only in the page cache and
 * an ext4 root needed its journal replayed to show them). Bounded: a dead disk must not keep the shell away.
 */
function syncDisks(timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(resolve, timeoutMs);
    const p = spawn(findProgram(toolPath('sync')) ?? 'sync', [], { stdio: 'ignore' });
    p.on('error', done);
    p.on('exit', done);
  });
}

/** Prints the shellout screen and keeps a shell on the console; never returns (PID 1 never exits). */
export async function shellout(reporter: Reporter, why: string): Promise<never> {
  await syncDisks();
  const issue = (() => {
    try {
      return readFileSync(systemPaths().issue, 'utf8');
    } catch {
      return '';
    }
  })();
  const lines = ['', '='.repeat(72), `si-agent: ${why}`, '', 'Last lines of the install log:', ...tailLog(20).map((l) => `  ${l}`), '', issue.trim(), '', 'A shell follows; the full log is /tmp/si.log. Reboot when done.', '='.repeat(72), ''];
  process.stdout.write(lines.join('\n') + '\n');
  reporter.error(`shellout: ${why}`);
  for (;;) await runShell();
}
