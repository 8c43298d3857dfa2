// The agent's end of `si-agent-call`: a directory the master's functions drop calls into (argv, then status back).
//
// A call is a directory `call.XXXXXX` the shell makes with mktemp; `argv` (NUL-terminated words, verb first) appears
// by rename when the call is ready. The agent writes `out` (what the call prints) and then `status` (by rename), which
// the shell waits for. Files, not a socket: the functions stay plain sh with no nc, and a call survives the master's
// `killall sleep` (its wait loop just polls again).

import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a verb's handler returns. */
export interface CallResult {
  status: number;
  out?: string;
}

export type CallHandler = (verb: string, args: string[]) => Promise<CallResult>;

/** Splits a call's argv file: NUL-terminated words; a missing final NUL is tolerated. */
export function splitCallArgv(buf: Buffer): string[] {
  const words = buf.toString('utf8').split('\0');
  if (words.length > 0 && words[words.length - 1] === '') words.pop();
  return words;
}

export interface CallServer {
  /** Calls answered so far, by verb. */
  counts: Map<string, number>;
  /** Stops polling; calls under way still get their answer. */
  stop(): Promise<void>;
}

/** Serves calls in `dir` (made empty, mode 0700) until stopped; a handler's error is status 1 and goes to `onError`. */
export function serveCalls(dir: string, handle: CallHandler, onError: (verb: string, err: Error) => void, everyMs = 50): CallServer {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const taken = new Set<string>();
  const running = new Set<Promise<void>>();
  const counts = new Map<string, number>();
  const answer = (callDir: string, r: CallResult) => {
    try {
      if (r.out) writeFileSync(join(callDir, 'out'), r.out);
      writeFileSync(join(callDir, 'status.tmp'), `${r.status}\n`);
      renameSync(join(callDir, 'status.tmp'), join(callDir, 'status'));
    } catch {
      // The caller went away (its shell was killed): nobody waits for the answer.
    }
  };
  const take = (name: string) => {
    const callDir = join(dir, name);
    let argv: string[];
    try {
      argv = splitCallArgv(readFileSync(join(callDir, 'argv')));
    } catch {
      return; // not ready yet: argv appears by rename
    }
    taken.add(name);
    const [verb = '', ...args] = argv;
    counts.set(verb, (counts.get(verb) ?? 0) + 1);
    const p = handle(verb, args)
      .catch((err: Error) => {
        onError(verb, err);
        return { status: 1 };
      })
      .then((r) => answer(callDir, r))
      .finally(() => running.delete(p));
    running.add(p);
  };
  const poll = () => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) if (n.startsWith('call.') && !taken.has(n)) take(n);
    // Calls the shell has removed are forgotten (mktemp may reuse a name).
    for (const n of taken) if (!names.includes(n)) taken.delete(n);
  };
  const timer = setInterval(poll, everyMs);
  return {
    counts,
    async stop() {
      clearInterval(timer);
      poll();
      await Promise.all([...running]);
    },
  };
}
