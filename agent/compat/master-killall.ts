// `killall` for a master: only the master's own descendants are signalled, never the agent's processes.
//
// A 4.3 master ends with `killall sleep` (it ended the push-install SSH session) and may `killall -9 rsync`; in
// BOEL those were the only such processes. Here the agent's udp-receiver, rsync and SSH peers are its own children,
// not the master's, and they carry the install's report: they must live.

import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';

export interface ProcEntry {
  pid: number;
  ppid: number;
  comm: string;
}

/** Parses /proc/<pid>/stat: `pid (comm) state ppid ...` (comm may hold spaces and parentheses). */
export function parseProcStat(text: string): ProcEntry | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 2).split(' ');
  const ppid = Number(rest[1]);
  if (!Number.isInteger(pid) || !Number.isInteger(ppid)) return null;
  return { pid, ppid, comm: text.slice(open + 1, close) };
}

/** Reads the process table. */
export function readProcTable(proc = '/proc'): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const name of readdirSync(proc)) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const e = parseProcStat(readFileSync(`${proc}/${name}/stat`, 'utf8'));
      if (e) out.push(e);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export interface KillallArgs {
  signal: NodeJS.Signals | number;
  names: string[];
}

/** A signal named as killall takes it (`9`, `KILL`, `SIGKILL`), or undefined when it names none. */
function signalOf(s: string): NodeJS.Signals | number | undefined {
  if (/^\d+$/.test(s)) return Number(s);
  const up = s.toUpperCase();
  const full = up.startsWith('SIG') ? up : `SIG${up}`;
  return full in constants.signals ? (full as NodeJS.Signals) : undefined;
}

/** Parses killall's arguments: `-9`, `-KILL`, `-SIGKILL`, `-s SIG`, `--signal SIG`; its other flags are ignored. */
export function parseKillallArgs(args: readonly string[]): KillallArgs {
  let signal: NodeJS.Signals | number = 'SIGTERM';
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-s' || a === '--signal') {
      const v = args[++i] ?? '';
      const sig = signalOf(v);
      if (sig === undefined) throw new Error(`killall: unknown signal ${v}`);
      signal = sig;
    } else if (a.startsWith('-')) {
      const sig = signalOf(a.slice(1));
      if (sig !== undefined) signal = sig;
    } else names.push(a);
  }
  return { signal, names };
}

/** The processes under `root` (not root itself) whose name is one of `names` (compared as the kernel cuts comm: 15 bytes). */
export function pickVictims(table: readonly ProcEntry[], root: number, names: readonly string[]): number[] {
  const children = new Map<number, number[]>();
  for (const e of table) children.set(e.ppid, [...(children.get(e.ppid) ?? []), e.pid]);
  const under = new Set<number>();
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (under.has(pid)) continue;
    under.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  const wanted = new Set(names.map((n) => n.slice(0, 15)));
  return table.filter((e) => under.has(e.pid) && wanted.has(e.comm)).map((e) => e.pid);
}

/** Signals the master's descendants named in `args`; returns killall's status (0 when one was signalled) and a note. */
export function killMasterProcesses(args: readonly string[], masterPid: number, exclude: ReadonlySet<number>, proc = '/proc'): { status: number; note: string } {
  const { signal, names } = parseKillallArgs(args);
  if (names.length === 0) return { status: 1, note: 'killall: no process name given' };
  const victims = pickVictims(readProcTable(proc), masterPid, names).filter((p) => !exclude.has(p));
  for (const pid of victims) {
    try {
      process.kill(pid, signal);
    } catch {
      // exited meanwhile
    }
  }
  return { status: victims.length > 0 ? 0 : 1, note: `killall ${args.join(' ')}: ${victims.length > 0 ? `signalled ${victims.join(' ')} (the master's own)` : 'no such process of the master'}` };
}
