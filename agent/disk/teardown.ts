// Undoing the disk steps at the end of an install or a test: unmount the target tree, stop our arrays and VGs.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Runner } from '../exec/runner.js';
import type { Reporter } from '../report/events.js';
import type { DiskPlan } from '../plan/disk-plan-types.js';
import { systemPaths } from '../exec/tools.js';

/** What teardown works with. */
export interface TeardownContext {
  run: Runner;
  report: Reporter;
  sysroot: string;
}

async function mountedPaths(): Promise<Set<string>> {
  const text = await readFile(systemPaths().procMounts, 'utf8').catch(() => '');
  return new Set(text.split('\n').map((l) => (l.split(' ')[1] ?? '').replace(/\\040/g, ' ')).filter(Boolean));
}

/** Unmounts the plan's mounts in reverse order after a sync; lazy unmount only as a last resort, logged. */
export async function unmountTarget(plan: DiskPlan, ctx: TeardownContext): Promise<void> {
  await ctx.run('sync', [], { allowFail: true, timeout: 300_000 });
  for (const m of [...plan.mounts].reverse()) {
    const path = m.mp === '/' ? ctx.sysroot : join(ctx.sysroot, m.mp);
    for (let attempt = 1; ; attempt++) {
      if (!(await mountedPaths()).has(path)) break;
      const res = await ctx.run('umount', [path], { allowFail: true, timeout: 60_000 });
      if (res.code === 0) break;
      if (attempt >= 3) {
        ctx.report.warn(`umount ${path} failed ${attempt} times (${res.stderr.trim()}); detaching it lazily`);
        await ctx.run('umount', ['-l', path], { allowFail: true, timeout: 60_000 });
        break;
      }
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

/** Deactivates the plan's volume groups and stops its md arrays (only those; nothing else is touched). */
export async function deactivateStorage(plan: DiskPlan, ctx: TeardownContext): Promise<void> {
  for (const vg of [...plan.vgs].reverse()) {
    const res = await ctx.run('lvm', ['vgchange', '-an', vg.name], { allowFail: true, timeout: 60_000 });
    if (res.code !== 0) ctx.report.warn(`vgchange -an ${vg.name} failed: ${res.stderr.trim()}`);
  }
  for (const r of [...plan.raids].reverse()) {
    const res = await ctx.run('mdadm', ['--stop', r.device], { allowFail: true, timeout: 60_000 });
    if (res.code !== 0) ctx.report.warn(`mdadm --stop ${r.device} failed: ${res.stderr.trim()}`);
  }
}
