// The only place that spawns processes: argv arrays, no shell, logged, with timeouts that kill the process group.

import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { CommandError } from '../errors.js';
import type { Reporter } from '../report/events.js';
import { toolPath } from './tools.js';

export interface RunOptions {
  /** Milliseconds before SIGTERM to the process group, then SIGKILL 5 s later. 0 = none. */
  timeout?: number;
  /** Data written to stdin, then stdin is closed. */
  input?: string | Buffer;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Do not throw on a non-zero exit; the caller inspects the result. */
  allowFail?: boolean;
  /** Called with each chunk of stdout/stderr as it arrives (progress parsing). */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Keep at most this many bytes of each stream (the tail). Default 1 MiB. */
  maxBuffer?: number;
  signal?: AbortSignal;
  /** Log the command at debug level only (noisy probes). */
  quiet?: boolean;
  /** A stream piped into the child's stdin (instead of `input`). */
  stdin?: NodeJS.ReadableStream;
  /** Hands the child's raw stdout to the caller (binary streaming); the runner then neither decodes nor keeps it. */
  takeStdout?: (stdout: Readable) => void;
  /**
   * Output of which only the newest lines matter (progress): stdout goes to an unlinked file instead of a pipe, and
   * the file's last `tailBytes` are handed over every `everyMs` and once at the end (`final`), with everything then
   * in the file. The child never waits on a reader, and a copy that prints a line per file costs a few reads a
   * second instead of one per line. Lines between two reads are skipped; past 1 MiB the file starts over.
   */
  stdoutPoll?: { everyMs: number; tailBytes?: number; onTail: (text: string, final: boolean) => void };
  /** Called with the child's pid once it is spawned (its process group has the same id). */
  onSpawn?: (pid: number) => void;
}

export interface RunResult {
  argv: string[];
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export type Runner = (tool: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/** Makes the runner bound to a reporter: logs each command line before it runs and its end. */
export function createRunner(reporter: Reporter | null): Runner {
  return (tool, args, opts = {}) => runCommand(reporter, tool, args, opts);
}

/** The file behind `stdoutPoll`: read from the end, started over when it grows past `restartAt`. */
function createPolledFile(restartAt = 1024 * 1024) {
  const path = join(tmpdir(), `si-agent-out-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const fd = openSync(path, 'ax+', 0o600);
  // Unlinked at once: nothing is left behind whatever happens, and the child writes through its own descriptor.
  unlinkSync(path);
  const readEnd = (max: number): string => {
    const size = fstatSync(fd).size;
    const n = Math.min(size, max);
    if (n === 0) return '';
    const buf = Buffer.allocUnsafe(n);
    const got = readSync(fd, buf, 0, n, size - n);
    // The child's writes are O_APPEND: after a truncation they land at the new end.
    if (size > restartAt) ftruncateSync(fd, 0);
    return buf.toString('utf8', 0, got);
  };
  return { fd, readEnd, close: () => closeSync(fd) };
}

/** Keeps the last `max` characters of a stream as chunks, without rebuilding one big string per chunk. */
function createTail(max: number) {
  const chunks: string[] = [];
  let size = 0;
  return {
    push(d: string) {
      chunks.push(d);
      size += d.length;
      while (size - chunks[0]!.length >= max) size -= chunks.shift()!.length;
    },
    text(): string {
      const all = chunks.join('');
      return all.length > max ? all.slice(all.length - max) : all;
    },
  };
}

async function runCommand(reporter: Reporter | null, tool: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const file = toolPath(tool);
  const argv = [file, ...args];
  if (reporter) {
    if (opts.quiet) reporter.debug(`run: ${argv.join(' ')}`);
    else reporter.emit({ type: 'command', argv });
  }
  const max = opts.maxBuffer ?? 1024 * 1024;
  const started = Date.now();
  return await new Promise<RunResult>((resolve, reject) => {
    const out = createTail(max);
    const err = createTail(max);
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;
    const poll = opts.stdoutPoll;
    const polled = poll ? createPolledFile() : null;
    let pollTimer: NodeJS.Timeout | undefined;
    let child: ChildProcessByStdio<Writable, Readable | null, Readable>;
    try {
      child = spawn(file, args, {
        shell: false,
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        detached: true, // own process group, so a timeout kills the whole tree
        stdio: ['pipe', polled ? polled.fd : 'pipe', 'pipe'],
      }) as ChildProcessByStdio<Writable, Readable | null, Readable>;
    } catch (e) {
      polled?.close();
      throw e;
    }
    if (child.pid) opts.onSpawn?.(child.pid);
    if (polled && poll) {
      pollTimer = setInterval(() => {
        const text = polled.readEnd(poll.tailBytes ?? 16384);
        if (text) poll.onTail(text, false);
      }, poll.everyMs);
    }
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        try {
          child.kill(sig);
        } catch {
          /* already gone */
        }
      }
    };
    const timer = opts.timeout
      ? setTimeout(() => {
          timedOut = true;
          killGroup('SIGTERM');
          killTimer = setTimeout(() => killGroup('SIGKILL'), 5000);
        }, opts.timeout)
      : undefined;
    const onAbort = () => {
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), 5000);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.takeStdout) opts.takeStdout(child.stdout!);
    else if (!polled) {
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (d: string) => {
        out.push(d);
        opts.onStdout?.(d);
      });
    }
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      err.push(d);
      opts.onStderr?.(d);
    });
    child.stdin.on('error', () => {
      /* the child may exit without reading its input */
    });
    if (opts.stdin) {
      // A source that fails must not leave the child waiting for more input.
      opts.stdin.on('error', () => child.stdin.destroy());
      opts.stdin.pipe(child.stdin);
    } else if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
    const finish = (code: number | null, sig: string | null, spawnErr?: Error) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (polled && poll) {
        clearInterval(pollTimer);
        const text = polled.readEnd(max);
        polled.close();
        out.push(text);
        poll.onTail(text, true);
      }
      const quiet = opts.quiet ? { quiet: true } : {};
      const ms = Date.now() - started;
      const stdout = out.text();
      const stderr = err.text();
      if (spawnErr) {
        const code = (spawnErr as NodeJS.ErrnoException).code ?? spawnErr.message;
        const e = new CommandError(argv, null, null, '', `cannot run ${file}: ${spawnErr.message}`, false, code === 'ENOENT' ? 'not found' : code);
        reporter?.emit({ type: 'command-end', argv, code: null, signal: null, ms, ...quiet });
        reject(e);
        return;
      }
      reporter?.emit({ type: 'command-end', argv, code, signal: sig, ms, ...quiet });
      const res: RunResult = { argv, code, signal: sig, stdout, stderr, ms };
      if (timedOut) reject(new CommandError(argv, code, sig, stdout, stderr, true));
      else if (code !== 0 && !opts.allowFail) reject(new CommandError(argv, code, sig, stdout, stderr));
      else resolve(res);
    };
    child.on('error', (err) => finish(null, null, err));
    child.on('close', (code, sig) => finish(code, sig));
  });
}
