// PID 1's first duty: the early filesystems (SPEC 1 step 1) and the loopback link.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runner } from '../exec/runner.js';
import { ipCommand } from '../exec/tools.js';

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

/** The initrd's static busybox: one `mount -a` of it replaces several util-linux mount processes (each start is slow emulated). */
const BUSYBOX = '/usr/bin/busybox';

type Mount = (typeof EARLY_MOUNTS)[number];

/** Mounts one level of mounts: with busybox, one `mount -a` over a table written for it; else util-linux, one by one. */
async function mountAll(run: Runner, round: readonly Mount[], busybox: string | undefined, tableDir: string): Promise<void> {
  if (round.length === 0) return;
  for (const [, , target] of round) if (!existsSync(target)) mkdirSync(target, { recursive: true });
  if (!busybox) {
    for (const [type, source, target, options] of round) await run('mount', ['-t', type, '-o', options, source, target], { allowFail: true, quiet: true });
    return;
  }
  const table = join(tableDir, 'si-agent-early.fstab');
  writeFileSync(table, round.map(([type, source, target, options]) => `${source} ${target} ${type} ${options} 0 0\n`).join(''));
  try {
    await run(busybox, ['mount', '-a', '-T', table], { allowFail: true, quiet: true });
  } finally {
    rmSync(table, { force: true });
  }
}

/**
 * The early filesystems in two parts, so PID 1 can start its worker after the first: mountEarlyFilesystems mounts
 * what is not mounted yet (a kernel may have mounted devtmpfs itself) and is not inside another early mount;
 * mountNestedAndLoopback then mounts the rest (/dev/pts, once /dev is there) and brings up lo. Each returns the
 * mount points it mounted.
 */
export async function mountEarlyFilesystems(run: Runner, busybox = existsSync(BUSYBOX) ? BUSYBOX : undefined, tableDir = '/etc'): Promise<string[]> {
  return await mountLevel(run, false, busybox, tableDir);
}

export async function mountNestedAndLoopback(run: Runner, busybox = existsSync(BUSYBOX) ? BUSYBOX : undefined, tableDir = '/etc'): Promise<string[]> {
  const lo = run(...ipCommand(['link', 'set', 'lo', 'up']), { allowFail: true, quiet: true });
  const mounted = await mountLevel(run, true, busybox, tableDir);
  await lo;
  return mounted;
}

async function mountLevel(run: Runner, nestedLevel: boolean, busybox: string | undefined, tableDir: string): Promise<string[]> {
  const already = mountedTargets();
  const isNested = (t: string) => EARLY_MOUNTS.some(([, , p]) => p !== t && t.startsWith(`${p}/`));
  const round = EARLY_MOUNTS.filter(([, , t]) => !already.has(t) && isNested(t) === nestedLevel);
  await mountAll(run, round, busybox, tableDir);
  const now = mountedTargets();
  return round.map(([, , t]) => t).filter((t) => now.has(t));
}
