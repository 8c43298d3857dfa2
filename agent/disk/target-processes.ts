// Finds and stops processes left running inside the target (a daemon a post-install script started), so it unmounts.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Reporter } from '../report/events.js';

/** True when path is dir or below it. */
function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : dir + '/');
}

/** Processes whose root or working directory is inside dir, as `{pid, comm}`; this process is never listed. */
export function processesInside(dir: string, procRoot = '/proc'): Array<{ pid: number; comm: string }> {
  const found: Array<{ pid: number; comm: string }> = [];
  for (const name of readdirSync(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      const root = readlinkSync(`${procRoot}/${name}/root`);
      const cwd = readlinkSync(`${procRoot}/${name}/cwd`);
      if (!within(root, dir) && !within(cwd, dir)) continue;
      found.push({ pid, comm: readFileSync(`${procRoot}/${name}/comm`, 'utf8').trim() });
    } catch {
      // Gone meanwhile, or a kernel thread without root/cwd links.
    }
  }
  return found;
}

/** Sends SIGTERM, then after graceMs SIGKILL, to every process inside dir; reports what it stopped. */
export async function stopProcessesInside(dir: string, report: Reporter, graceMs = 2000): Promise<number> {
  const first = processesInside(dir);
  if (first.length === 0) return 0;
  report.warn(`stopping ${first.length} process(es) left running in the target: ${first.map((p) => `${p.pid} (${p.comm})`).join(', ')}`);
  const signal = (sig: NodeJS.Signals, pids: number[]) => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  signal('SIGTERM', first.map((p) => p.pid));
  for (let waited = 0; waited < graceMs && processesInside(dir).length > 0; waited += 100) await new Promise((r) => setTimeout(r, 100));
  const left = processesInside(dir);
  signal('SIGKILL', left.map((p) => p.pid));
  for (let waited = 0; waited < 2000 && processesInside(dir).length > 0; waited += 100) await new Promise((r) => setTimeout(r, 100));
  return first.length;
}
