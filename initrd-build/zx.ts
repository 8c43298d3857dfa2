// zx as the build uses it: commands built from templates whose every interpolated value zx quotes as one word.
//
// zx hands the line it builds to bash (`set -euo pipefail;` first). Each ${value} becomes one quoted word (an
// array, one word per element), so no value is ever parsed as shell syntax; a template's literal text is fixed
// code in this repository. Synchronous calls run with nothrow and check the exit status here: zx 8 raises a
// synchronous failure as an unhandled rejection instead of throwing it to the caller.

import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { $, quote, type Options, type ProcessOutput } from 'zx/core';

const bigBuffer = ((cmd: string, args: readonly string[], opts: SpawnSyncOptions) =>
  spawnSync(cmd, args, { ...opts, maxBuffer: 256 * 1024 * 1024 })) as typeof spawnSync;

/** The command line zx builds from a template, for error messages. */
export function commandLine(pieces: TemplateStringsArray, args: readonly unknown[]): string {
  const word = (a: unknown) => (Array.isArray(a) ? a.map((x) => quote(String(x))).join(' ') : quote(String(a)));
  return pieces.reduce((line, piece, i) => line + piece + (i < args.length ? word(args[i]) : ''), '').trim();
}

type SyncTag = (pieces: TemplateStringsArray, ...args: unknown[]) => ProcessOutput;

/**
 * zx's $.sync with these options (cwd, env, input, nothrow...): runs the command to completion and returns its
 * output; unless nothrow, a non-zero exit throws `<cmd> failed with exit code N: <command line>` and the output's
 * last lines.
 */
export function $sync(opts: Partial<Omit<Options, 'sync'>> = {}): SyncTag {
  const run = $({ quiet: true, ...opts, sync: true, nothrow: true, spawnSync: bigBuffer });
  return (pieces, ...args) => {
    const r = run(pieces, ...args);
    if (r.exitCode !== 0 && !opts.nothrow) {
      const line = commandLine(pieces, args);
      const tail = (r.stderr || r.stdout).trim().split('\n').slice(-10).join('\n');
      throw new Error(`${line.split(' ')[0]} failed with exit code ${r.exitCode ?? r.signal}: ${line}\n${tail}`);
    }
    return r;
  };
}

/** zx's $ (asynchronous), quiet: a failure rejects with the command's output. */
export const $q = $({ quiet: true });
