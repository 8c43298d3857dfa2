// Steps: write fstab and the image stamp, copy the log in, unmount cleanly, tell the server, and the post-install action.

import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFstab } from '../disk/fstab.js';
import { unmountTarget, deactivateStorage } from '../disk/teardown.js';
import { stopProcessesInside } from '../disk/target-processes.js';
import type { DiskPlan } from '../plan/disk-plan.js';
import { getBool } from '../params/validate.js';
import { notifyImagingComplete } from '../transport/rsync/rsync.js';
import { systemPaths } from '../exec/tools.js';
import { performPostAction } from '../init/post-action.js';
import { keepRootForDirectboot, loadKexecKernel } from '../init/prepare-action.js';
import { type Ctx, type Step, param, rsyncEndpoint, runCleanups } from './context.js';
import { imageOverHttp, notifyHttpComplete } from './http.js';

export const finalizeStep: Step = {
  name: 'finalize',
  title: 'Writing fstab and the image stamp',
  async run(ctx) {
    ctx.report.emit({ type: 'status', status: 101, message: 'finalizing' });
    const plan = ctx.state.diskPlan as DiskPlan;
    await writeFstab(plan, ctx.opts.sysroot);
    const dir = join(ctx.opts.sysroot, 'etc/systemimager');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'IMAGE_LAST_SYNCED_TO'), `${param(ctx, 'IMAGENAME')}\n`);
    // No sync here: the image step's flusher has been sending the data to disk since the copy began, and goes on.
  },
};

/** Copies the install log into the installed system (root/si_monitor.log too when MONITOR_CONSOLE is on). */
function copyLogIn(ctx: Ctx, logPath: string): void {
  if (!existsSync(logPath)) return;
  const dest = join(ctx.opts.sysroot, 'var/log/systemimager');
  mkdirSync(dest, { recursive: true });
  copyFileSync(logPath, join(dest, 'si-agent-install.log'));
  if (getBool(ctx.params, 'MONITOR_CONSOLE')) {
    mkdirSync(join(ctx.opts.sysroot, 'root'), { recursive: true });
    copyFileSync(logPath, join(ctx.opts.sysroot, 'root/si_monitor.log'));
  }
}

/** Unmounts the target and releases RAID/LVM; used at the end and after a failure. */
export async function releaseTarget(ctx: Ctx): Promise<void> {
  const plan = ctx.state.diskPlan as DiskPlan | undefined;
  if (!plan) return;
  const tctx = { run: ctx.run, report: ctx.report, sysroot: ctx.opts.sysroot };
  if (ctx.state.mounted) {
    await stopProcessesInside(ctx.opts.sysroot, ctx.report);
    await unmountTarget(plan, tctx);
    ctx.state.mounted = false;
  }
  await deactivateStorage(plan, tctx);
}

export const finishStep: Step = {
  name: 'finish',
  title: 'Unmounting and telling the image server',
  async run(ctx) {
    ctx.report.info(`install of ${param(ctx, 'IMAGENAME')} on ${param(ctx, 'HOSTNAME') ?? ctx.state.clientIp} complete`);
    copyLogIn(ctx, ctx.opts.logPath ?? systemPaths().log);
    const action = ctx.opts.performPostAction ? param(ctx, 'POST_ACTION') : undefined;
    // kexec needs the installed kernel before the target goes away; directboot keeps the root mounted.
    if (action === 'kexec') await loadKexecKernel(ctx);
    // The server is told while the target is being unmounted: notifying never fails the install.
    const ip = ctx.state.clientIp ?? param(ctx, 'IPADDR');
    const notified = !ip ? Promise.resolve() : imageOverHttp(ctx) ? notifyHttpComplete(ctx, ip) : notifyImagingComplete(ctx, rsyncEndpoint(ctx).server, rsyncEndpoint(ctx).port, ip);
    // The unmount writes what is left: the image step's flusher starts no more syncs alongside it.
    ctx.state.stopFlushing?.();
    try {
      if (action === 'directboot') await keepRootForDirectboot(ctx);
      else await releaseTarget(ctx);
    } finally {
      await notified;
    }
    // The image server is told; SSH tunnels and the push session end before the post-install action.
    await runCleanups(ctx);
    ctx.report.emit({ type: 'status', status: 100, message: 'imaged' });
  },
};

/** Monitor status for each post-install action (SPEC 9/11). */
export const ACTION_STATUS: Record<string, number | undefined> = { reboot: 104, kexec: 104, directboot: 104, shutdown: 105, beep: 103 };

export const postActionStep: Step = {
  name: 'post-action',
  title: 'Post-install action',
  async run(ctx) {
    const action = param(ctx, 'POST_ACTION') ?? 'reboot';
    ctx.state.postAction = action;
    if (!ctx.opts.performPostAction) {
      ctx.report.info(`post-install action: ${action} (not performed: ${ctx.opts.mode} mode without --perform-post-action)`);
      return;
    }
    const status = ACTION_STATUS[action];
    if (status !== undefined) ctx.report.emit({ type: 'status', status, message: action });
    // The monitor and syslog hear the last word before the machine reboots, powers off or kexecs.
    await Promise.all(ctx.state.drains.splice(0).map((d) => d().catch(() => undefined)));
    await performPostAction(ctx, action);
  },
};
