// PID 1's first duty: the early filesystems (SPEC 1 step 1) and the loopback link.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { Runner } from '../exec/runner.js';

/** What to mount, in order: [type, source, target, options]. */
export const EARLY_MOUNTS: ReadonlyArray<readonly [string, string, string, string]> = [
  ['proc', 'proc', '/proc', 'nosuid,nodev,noexec'],
  ['sysfs', 'sysfs', '/sys', 'nosuid,nodev,noexec'],
  ['devtmpfs', 'devtmpfs', '/dev', 'mode=0755,nosuid'],
  ['devpts', 'devpts', '/dev/pts', 'gid=5,mode=620,ptmxmode=000'],
  ['tmpfs', 'tmpfs', '/run', 'mode=0755,nosuid,nodev'],
  ['tmpfs', 'tmpfs', '/tmp', 'mode=1777,nosuid,nodev'],
];

/** Mount points already mounted, from /proc/self/mounts (empty before /proc is up). */
function mountedTargets(): Set<string> {
  try {
    return new Set(readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? ''));
  } catch {
    return new Set();
  }
}

/**
 * Mounts what is not mounted yet (a kernel may have mounted devtmpfs itself) and brings up lo. Mounts that do not
 * nest run at once (each is a process start, slow under emulation); one inside another (/dev/pts) waits for it.
 */
export async function mountEarlyFilesystems(run: Runner): Promise<string[]> {
  const already = mountedTargets();
  const pending = EARLY_MOUNTS.filter(([, , target]) => !already.has(target));
  const done = new Set<string>();
  const started = new Map<string, Promise<void>>();
  const mountOne = async ([type, source, target, options]: (typeof EARLY_MOUNTS)[number]): Promise<void> => {
    const parent = pending.find(([, , t]) => t !== target && target.startsWith(`${t}/`));
    if (parent) await started.get(parent[2]);
    if (!existsSync(target)) mkdirSync(target, { recursive: true });
    const r = await run('mount', ['-t', type, '-o', options, source, target], { allowFail: true, quiet: true });
    if (r.code === 0) done.add(target);
  };
  for (const m of pending) started.set(m[2], mountOne(m));
  await Promise.all([...started.values(), run('ip', ['link', 'set', 'lo', 'up'], { allowFail: true, quiet: true })]);
  return EARLY_MOUNTS.map(([, , t]) => t).filter((t) => done.has(t));
}
