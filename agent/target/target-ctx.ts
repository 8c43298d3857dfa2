// What target configuration needs from the install (runner, reporter, sysroot) and how it runs a command inside the target.

import type { Runner, RunOptions, RunResult } from '../exec/runner.js';
import type { Reporter } from '../report/events.js';

export interface TargetCtx {
  run: Runner;
  report: Reporter;
  sysroot: string;
  signal?: AbortSignal;
}

/** The environment of chrooted commands: the target's own PATH, no locale, no prompts, no os-prober scanning the installer's disks. */
export const CHROOT_ENV: Readonly<NodeJS.ProcessEnv> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  LANG: 'C',
  LC_ALL: 'C',
  TERM: 'linux',
  DEBIAN_FRONTEND: 'noninteractive',
  GRUB_DISABLE_OS_PROBER: 'true',
};

/** Runs argv inside the target as `chroot <sysroot> <argv...>` through the runner. */
export async function runInTarget(t: TargetCtx, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return await t.run('chroot', [t.sysroot, ...argv], { env: { ...CHROOT_ENV }, cwd: '/', timeout: 30 * 60 * 1000, ...(t.signal ? { signal: t.signal } : {}), ...opts });
}
