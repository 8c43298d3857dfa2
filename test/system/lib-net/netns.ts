// Network namespaces, veth pairs and daemons for the DHCP system tests; everything made here is torn down by cleanup().

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

/** True when we may create namespaces (root with ip and the daemons). */
export function canRunNetTests(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs `ip ARGS` (throws with its stderr on failure). */
export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface Lab {
  dir: string;
  /** Creates a namespace named `si<pid><tag>` (unique per test process), with lo up. */
  ns(tag: string): string;
  /** A veth pair with each end created directly inside its namespace, both up; the server end gets cidr. */
  veth(a: { ns: string; name: string }, b: { ns: string; name: string; cidr?: string }): void;
  /** Starts argv inside ns (`ip netns exec`), output to a log file in dir. */
  daemon(ns: string, name: string, argv: string[]): ChildProcess;
  /** Reads a daemon's log. */
  log(name: string): string;
  cleanup(): Promise<void>;
}

/** A scratch lab: namespaces, daemons and a temp dir, all removed by cleanup (call it in afterAll). */
export function createLab(prefix: string): Lab {
  const dir = mkdtempSync(join(tmpdir(), `si-${prefix}-`));
  const namespaces: string[] = [];
  const daemons: ChildProcess[] = [];
  return {
    dir,
    ns(tag) {
      const name = `si${process.pid}${tag}`;
      ip('netns', 'add', name);
      namespaces.push(name);
      ip('-n', name, 'link', 'set', 'lo', 'up');
      return name;
    },
    veth(a, b) {
      ip('link', 'add', a.name, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.name, 'netns', b.ns);
      if (b.cidr) ip('-n', b.ns, 'addr', 'add', b.cidr, 'dev', b.name);
      ip('-n', b.ns, 'link', 'set', b.name, 'up');
      ip('-n', a.ns, 'link', 'set', a.name, 'up');
    },
    daemon(ns, name, argv) {
      const out = createWriteStream(join(dir, `${name}.log`));
      const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      child.stdout!.pipe(out);
      child.stderr!.pipe(out);
      daemons.push(child);
      return child;
    },
    log(name) {
      const file = join(dir, `${name}.log`);
      return existsSync(file) ? readFileSync(file, 'utf8') : '';
    },
    async cleanup() {
      for (const d of daemons) {
        if (d.exitCode === null && d.pid) {
          try {
            process.kill(-d.pid, 'SIGTERM');
          } catch {
            /* gone */
          }
          await new Promise((r) => setTimeout(r, 50));
          try {
            process.kill(-d.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      // Deleting a namespace deletes the veth ends in it (and their peers).
      for (const n of namespaces) {
        try {
          ip('netns', 'del', n);
        } catch {
          /* already gone */
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Bundles a test entry (which imports agent code with .js suffixes) into one CommonJS file plain Node runs. */
export async function bundleEntry(entry: string, outDir: string): Promise<string> {
  const outfile = join(outDir, entry.replace(/^.*\//, '').replace(/\.ts$/, '.cjs'));
  await build({ entryPoints: [resolve(__dirname, entry)], bundle: true, platform: 'node', target: 'node20', format: 'cjs', outfile, logLevel: 'warning' });
  return outfile;
}

export interface ClientRun {
  code: number | null;
  events: Array<Record<string, unknown>>;
  result?: Record<string, unknown>;
  error?: { code: string; message: string; details: string[] };
  stderr: string;
  ms: number;
}

/** Runs a bundled entry inside ns with a JSON config argument; parses its JSON lines. */
export async function runInNs(ns: string, bundle: string, cfg: unknown, timeoutMs = 60_000): Promise<ClientRun> {
  const started = Date.now();
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, bundle, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  clearTimeout(timer);
  const run: ClientRun = { code, events: [], stderr, ms: Date.now() - started };
  for (const line of stdout.split('\n').filter(Boolean)) {
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (obj.event) run.events.push(obj.event as Record<string, unknown>);
    if (obj.result) run.result = obj.result as Record<string, unknown>;
    if (obj.error) run.error = obj.error as ClientRun['error'];
  }
  return run;
}

/** The log messages of a run, one string. */
export function logText(run: ClientRun): string {
  return run.events.filter((e) => e.type === 'log').map((e) => `${e.level}: ${e.message}`).join('\n');
}

/** Polls until fn() is true or ms pass. */
export async function waitFor(fn: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
