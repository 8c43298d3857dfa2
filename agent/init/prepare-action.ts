// What the post-install action needs while the target is still mounted: kexec loads the installed kernel,
// directboot keeps the installed root mounted (read-only) for PID 1 to switch_root into.

import { mkdirSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import type { DiskPlan } from '../plan/disk-plan.js';
import { SiError } from '../errors.js';
import { readBootEntry } from './boot-config.js';
import type { ActionCtx } from './action-ctx.js';

/** Where the worker tells PID 1 to switch_root (PID 1 alone may do it). */
export function directbootMarker(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.SI_RUN ?? '/run', 'si-agent', 'directboot.json');
}

/** The fstab spec of the root filesystem (LABEL=/UUID=/device), from the plan. */
function rootSpec(plan: DiskPlan): string | undefined {
  const line = plan.fstab.map((l) => l.text.trim().split(/\s+/)).find((f) => f[1] === '/');
  return line?.[0];
}

/** kexec -l the installed kernel with its initrd and command line. */
export async function loadKexecKernel(ctx: ActionCtx): Promise<void> {
  const entry = readBootEntry(ctx.opts.sysroot, rootSpec(ctx.state.diskPlan as DiskPlan));
  ctx.report.info(`kexec: ${entry.kernel}${entry.initrd ? ` + ${entry.initrd}` : ''} "${entry.cmdline}" (from ${entry.from})`);
  const args = ['-l', entry.kernel, `--command-line=${entry.cmdline}`];
  if (entry.initrd) args.push(`--initrd=${entry.initrd}`);
  await ctx.run('kexec', args, { timeout: 120_000 });
}

/** Unmounts everything but the installed root, remounts it read-only and leaves word for PID 1. */
export async function keepRootForDirectboot(ctx: ActionCtx): Promise<void> {
  if (process.env.SI_PID1 !== '1') throw new SiError('E_PARAM', 'POST_ACTION=directboot needs si-agent as PID 1 in the initrd (switch_root)');
  const plan = ctx.state.diskPlan as DiskPlan;
  await ctx.run('sync', [], { allowFail: true });
  for (const m of [...plan.mounts].reverse()) {
    if (m.mp === '/') continue;
    await ctx.run('umount', [join(ctx.opts.sysroot, m.mp)], { allowFail: true });
  }
  await ctx.run('mount', ['-o', 'remount,ro', ctx.opts.sysroot]);
  const marker = directbootMarker();
  mkdirSync(dirname(marker), { recursive: true });
  writeFileSync(marker, JSON.stringify({ root: ctx.opts.sysroot, init: '/sbin/init' }) + '\n');
}

/** Reads and removes the directboot word left by the worker. */
export function takeDirectbootRequest(): { root: string; init: string } | undefined {
  const marker = directbootMarker();
  if (!existsSync(marker)) return undefined;
  try {
    return JSON.parse(readFileSync(marker, 'utf8')) as { root: string; init: string };
  } finally {
    rmSync(marker, { force: true });
  }
}
