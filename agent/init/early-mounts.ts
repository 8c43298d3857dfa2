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

/** Mounts what is not mounted yet (a kernel may have mounted devtmpfs itself); brings up lo. */
export async function mountEarlyFilesystems(run: Runner): Promise<string[]> {
  const done: string[] = [];
  for (const [type, source, target, options] of EARLY_MOUNTS) {
    if (mountedTargets().has(target)) continue;
    if (!existsSync(target)) mkdirSync(target, { recursive: true });
    const r = await run('mount', ['-t', type, '-o', options, source, target], { allowFail: true, quiet: true });
    if (r.code === 0) done.push(target);
  }
  await run('ip', ['link', 'set', 'lo', 'up'], { allowFail: true, quiet: true });
  return done;
}
