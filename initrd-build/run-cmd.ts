// Runs host tools for the boot-package build: argv arrays only, never a shell string.

import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export interface CmdResult {
  stdout: string;
  stderr: string;
  status: number;
}

export interface CmdOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Do not throw on a non-zero exit. */
  allowFail?: boolean;
  timeoutMs?: number;
  input?: string;
}

/** Formats a command line for messages and logs. */
export function formatArgv(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Runs a program to completion and returns its output; throws with the last output lines when it fails. */
export function runCmd(cmd: string, args: readonly string[], opts: CmdOptions = {}): CmdResult {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: opts.timeoutMs ?? 30 * 60_000,
    input: opts.input,
  });
  if (r.error) throw new Error(`${formatArgv(cmd, args)}: ${r.error.message}`, { cause: r.error });
  const res = { stdout: r.stdout ?? '', stderr: r.stderr ?? '', status: r.status ?? 128 };
  if (res.status !== 0 && !opts.allowFail) {
    const tail = (res.stderr || res.stdout).trim().split('\n').slice(-10).join('\n');
    throw new Error(`${cmd} failed with exit code ${res.status}: ${formatArgv(cmd, args)}\n${tail}`);
  }
  return res;
}

/** Runs `first | second > outFile` with two spawned processes joined by a pipe (no shell). */
export async function pipeToFile(
  first: { cmd: string; args: readonly string[]; cwd?: string; input?: string },
  second: { cmd: string; args: readonly string[] },
  outFile: string,
): Promise<void> {
  const a = spawn(first.cmd, first.args, { cwd: first.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  const b = spawn(second.cmd, second.args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = createWriteStream(outFile);
  let errA = '';
  let errB = '';
  a.stderr.on('data', (d: Buffer) => (errA += d.toString()));
  b.stderr.on('data', (d: Buffer) => (errB += d.toString()));
  a.stdout.pipe(b.stdin);
  b.stdout.pipe(out);
  a.stdin.end(first.input ?? '');
  const [[codeA], [codeB]] = await Promise.all([once(a, 'close'), once(b, 'close'), once(out, 'close')]);
  if (codeA !== 0) throw new Error(`${formatArgv(first.cmd, first.args)} failed with exit code ${codeA}\n${errA.trim().slice(-2000)}`);
  if (codeB !== 0) throw new Error(`${formatArgv(second.cmd, second.args)} failed with exit code ${codeB}\n${errB.trim().slice(-2000)}`);
}
