// Steps: find and check the disk layout against the real disks (no write), then partition, format and mount.

import { waitForBootStage } from '../init/boot-stages.js';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LayoutError, SiError } from '../errors.js';
import { systemPaths } from '../exec/tools.js';
import { chooseLayoutFile, IMAGE_LAYOUT_PATH } from '../plan/layout-source.js';
import { parseLayoutXml } from '../plan/layout-xml.js';
import { planDisks, type DiskPlan } from '../plan/disk-plan.js';
import { probeBlockDevices } from '../disk/probe.js';
import { findBusyDevices, readBusyInputs } from '../disk/busy.js';
import { findStaleHolders, releaseStaleHolders } from '../disk/stale-holders.js';
import { applyDiskPlan, DiskApplyError } from '../disk/apply.js';
import { planWithFstabUuids } from '../disk/fstab-uuid.js';
import { loadPlanModules } from '../disk/kernel-modules.js';
import { rsyncFetch } from '../transport/rsync.js';
import { readImageBytes } from '../transport/rsync-size.js';
import { isSafeName } from '../transport/rsync-url.js';
import { mountedCapacityMiB } from '../plan/disk-capacity.js';
import { type Ctx, type Step, param, rsyncEndpoint } from './context.js';
import { tmpfsOptions } from './image.js';
import { getBool } from '../params/validate.js';

/** Reads the layout: scripts/disks-layouts/<X>.xml for the first X that exists, else the image's own autoinstallscript.conf. */
async function loadLayoutText(ctx: Ctx): Promise<{ text: string; source: string }> {
  const dir = ctx.state.scriptsDir!;
  const file = chooseLayoutFile(
    { hostname: param(ctx, 'HOSTNAME'), groups: ctx.state.groups, baseHostname: param(ctx, 'BASE_HOSTNAME'), imageName: param(ctx, 'IMAGENAME') },
    (p) => existsSync(join(dir, p)),
  );
  if (file) return { text: readFileSync(join(dir, file), 'utf8'), source: `scripts/${file}` };
  const image = param(ctx, 'IMAGENAME')!;
  const dest = join(ctx.opts.workdir, 'autoinstallscript.conf');
  mkdirSync(ctx.opts.workdir, { recursive: true });
  try {
    await rsyncFetch(ctx, { ...rsyncEndpoint(ctx), src: `${image}/${IMAGE_LAYOUT_PATH}`, dest });
  } catch (err) {
    throw new SiError('E_LAYOUT', `no disk layout: none of scripts/disks-layouts/ fits this host and the image ${image} has no ${IMAGE_LAYOUT_PATH}`, { cause: err, details: (err as SiError).details });
  }
  return { text: readFileSync(dest, 'utf8'), source: `${image}:${IMAGE_LAYOUT_PATH}` };
}

/** The image size listing under way or done: for which image on which daemon, and its answer. */
interface SizeListing {
  key: string;
  result: Promise<{ bytes: number | null; error?: string }>;
}

/** Whether the image-fits check applies: rsync-like transports that lay an image down. */
function sizeCheckApplies(ctx: Ctx): boolean {
  const t = ctx.state.transport;
  return (t === 'rsync' || t === 'ssh' || t === 'sshd') && !getBool(ctx.params, 'NOSYNC');
}

/** The image's size listing (a dry run over the daemon), started now unless one for this image and daemon already is. */
function imageSizeListing(ctx: Ctx, image: string): SizeListing {
  const { server, port } = rsyncEndpoint(ctx);
  const key = `${server}:${port}/${image}`;
  const had = ctx.state.imageSizeListing as SizeListing | undefined;
  if (had?.key === key) return had;
  mkdirSync(ctx.opts.workdir, { recursive: true });
  // Stopped when the flow ends, so an install that fails before using it does not wait for its retries.
  const stop = new AbortController();
  ctx.state.cleanups.push(async () => stop.abort());
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  const listing = { key, result: readImageBytes({ ...ctx, signal }, server, port, image, ctx.opts.workdir) };
  // A listing started ahead and never used must not end the process as an unhandled rejection.
  listing.result.catch(() => undefined);
  ctx.state.imageSizeListing = listing;
  return listing;
}

/**
 * Starts listing the image's size as soon as IMAGENAME is known (the dry run costs a daemon connection, 0.1-0.3 s),
 * so it runs alongside fetching the scripts and the steps before plan-disks; plan-disks waits for its answer before
 * any disk is written. A listing whose image changes afterwards is not used; nothing is said unless it is.
 */
export function startImageSizeListing(ctx: Ctx): void {
  const image = param(ctx, 'IMAGENAME');
  if (!image || !isSafeName(image) || !sizeCheckApplies(ctx)) return;
  imageSizeListing(ctx, image);
}

/** Refuses, before any write, an image the rsync daemon lists as larger than every filesystem the layout mounts. */
async function checkImageFits(ctx: Ctx, plan: DiskPlan, source: string): Promise<void> {
  const capacity = mountedCapacityMiB(plan);
  if (capacity === null || !sizeCheckApplies(ctx)) return;
  const image = param(ctx, 'IMAGENAME')!;
  const { bytes, error } = await imageSizeListing(ctx, image).result;
  if (error !== undefined) ctx.report.warn(error);
  if (bytes === null) return;
  ctx.state.imageBytes = bytes;
  const needMiB = Math.ceil(bytes / 2 ** 20);
  if (needMiB > capacity) {
    throw new LayoutError([{ source, key: 'size', message: `image ${image} holds ${needMiB} MiB of files, more than the ${capacity} MiB of filesystems this layout mounts` }]);
  }
}

export const planDisksStep: Step = {
  name: 'plan-disks',
  title: 'Checking the disk layout against the disks',
  async run(ctx) {
    // Checked now so a bad tmpfs option fails before any disk is written.
    if (getBool(ctx.params, 'TMPFS_STAGING')) tmpfsOptions(ctx);
    const { text, source } = await loadLayoutText(ctx);
    ctx.state.layoutSource = source;
    const layout = parseLayoutXml(text, source);
    ctx.state.layout = layout;
    const diskorder = param(ctx, 'DISKORDER')?.split(/[,\s]+/).filter(Boolean);
    const check = async () => {
      const found = await probeBlockDevices(ctx.run);
      const busy = findBusyDevices(found, await readBusyInputs(systemPaths()));
      return { found, busy, ...planDisks(layout, found, { allowed: ctx.opts.disks, diskorder, busy }) };
    };
    // In the initrd PID 1 settles the block devices while the steps before this one run.
    await waitForBootStage('devices', ctx.report);
    const first = await check();
    let { plan, problems } = first;
    // Arrays and volumes an earlier install left active on these disks (and on nothing else) are stopped, then checked anew.
    // Only when being held is all that is wrong: a layout that fails anyway leaves them as they are.
    const onlyHeld = problems.length > 0 && problems.every((p) => /: it is in use \(/.test(p.message));
    const stale = onlyHeld ? findStaleHolders(first.found, plan.disks.map((d) => d.device), first.busy) : [];
    if (stale.length > 0) {
      await releaseStaleHolders(ctx.run, ctx.report, stale, ctx.signal);
      ({ plan, problems } = await check());
    }
    ctx.state.diskPlan = plan;
    if (problems.length > 0) throw new LayoutError(problems);
    await checkImageFits(ctx, plan, source);
    ctx.report.info(`layout ${source}: ${plan.disks.map((d) => `${d.layoutDev} -> ${d.device} (${d.parts.length} partitions)`).join(', ')}`);
  },
};

export const partitionStep: Step = {
  name: 'partition',
  title: 'Partitioning, RAID, LVM, filesystems, mounts',
  async run(ctx) {
    const plan = ctx.state.diskPlan as DiskPlan;
    mkdirSync(ctx.opts.sysroot, { recursive: true });
    // In the initrd, the storage stack is loaded now, and only what this plan uses (each costs seconds under emulation).
    if (process.env.SI_PID1 === '1') ctx.report.info(`kernel modules for this layout: ${(await loadPlanModules(ctx.run, plan)).join(' ') || '(none)'}`);
    // Anything mounted from here on is released on failure (unmounting what is not mounted is harmless).
    ctx.state.mounted = true;
    try {
      ctx.state.diskState = await applyDiskPlan(plan, { run: ctx.run, report: ctx.report, sysroot: ctx.opts.sysroot, signal: ctx.signal });
      // fstab, kexec's root= and the boot loader see the filesystems by UUID from here on (not by install-time names).
      ctx.state.diskPlan = await planWithFstabUuids(plan, ctx.run, ctx.report);
    } catch (err) {
      if (err instanceof DiskApplyError) ctx.state.diskState = err.state;
      throw err;
    }
  },
};
