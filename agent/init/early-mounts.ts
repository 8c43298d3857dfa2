// PID 1's first duty: the early filesystems (SPEC 1 step 1) and the loopback link.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** The initrd's static busybox: one `mount -a` of it replaces six util-linux mount processes (each start is slow emulated). */
const BUSYBOX = '/usr/bin/busybox';

/**
 * Mounts what is not mounted yet (a kernel may have mounted devtmpfs itself) and brings up lo. With the initrd's
 * busybox, one process mounts them all from a table written for it (in order, so /dev/pts comes after /dev);
 * elsewhere (tests) util-linux mount, one by one. Returns the mount points mounted here.
 */
export async function mountEarlyFilesystems(run: Runner, busybox = existsSync(BUSYBOX) ? BUSYBOX : undefined, tableDir = '/etc'): Promise<string[]> {
  const already = mountedTargets();
  const pending = EARLY_MOUNTS.filter(([, , target]) => !already.has(target));
  const lo = busybox ? run(busybox, ['ip', 'link', 'set', 'lo', 'up'], { allowFail: true, quiet: true }) : run('ip', ['link', 'set', 'lo', 'up'], { allowFail: true, quiet: true });
  // A mount point inside another pending one (/dev/pts in /dev) is made, and mounted, once its parent is mounted.
  const nested = (t: string) => pending.some(([, , p]) => p !== t && t.startsWith(`${p}/`));
  for (const round of [pending.filter(([, , t]) => !nested(t)), pending.filter(([, , t]) => nested(t))]) {
    if (round.length === 0) continue;
    for (const [, , target] of round) if (!existsSync(target)) mkdirSync(target, { recursive: true });
    if (!busybox) {
      for (const [type, source, target, options] of round) await run('mount', ['-t', type, '-o', options, source, target], { allowFail: true, quiet: true });
      continue;
    }
    const table = join(tableDir, 'si-agent-early.fstab');
    writeFileSync(table, round.map(([type, source, target, options]) => `${source} ${target} ${type} ${options} 0 0\n`).join(''));
    try {
      await run(busybox, ['mount', '-a', '-T', table], { allowFail: true, quiet: true });
    } finally {
      rmSync(table, { force: true });
    }
  }
  await lo;
  const now = mountedTargets();
  return pending.map(([, , t]) => t).filter((t) => now.has(t));
}
