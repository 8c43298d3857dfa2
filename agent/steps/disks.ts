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
import { rsyncFetch } from '../transport/rsync/rsync.js';
import { mountedCapacityMiB } from '../plan/disk-capacity.js';
import { type Ctx, type Step, param, rsyncEndpoint } from './context.js';
import { imageSizeListing, sizeCheckApplies } from './image-size.js';
import { getBool } from '../params/validate.js';
import { tmpfsOptions } from './image.js';

/** Reads the layout: scripts/disks-layouts/<X>.xml for the first X that exists, else the image's own autoinstallscript.conf. */
async function loadLayoutText(ctx: Ctx): Promise<{ text: string; source: string }> {
  const dir = ctx.state.scriptsDir!;
  const file = chooseLayoutFile(
    { hostname: param(ctx, 'HOSTNAME'), groups: ctx.state.groups, baseHostname: param(ctx, 'BASE_HOSTNAME'), imageName: param(ctx, 'IMAGENAME') },
    (p) => existsSync(join(dir, p)),
  );
  if (file) return { text: readFileSync(join(dir, file), 'utf8'), source: `scripts/${file}` };
  const image = param(ctx, 'IMAGENAME')!;
  if (ctx.state.transport === 'http') throw new SiError('E_LAYOUT', `no disk layout: none of scripts/disks-layouts/ fits this host (over HTTP the image's own ${IMAGE_LAYOUT_PATH} is not read: publish a layout in the scripts directory)`);
  const dest = join(ctx.opts.workdir, 'autoinstallscript.conf');
  mkdirSync(ctx.opts.workdir, { recursive: true });
  try {
    await rsyncFetch(ctx, { ...rsyncEndpoint(ctx), src: `${image}/${IMAGE_LAYOUT_PATH}`, dest });
  } catch (err) {
    throw new SiError('E_LAYOUT', `no disk layout: none of scripts/disks-layouts/ fits this host and the image ${image} has no ${IMAGE_LAYOUT_PATH}`, { cause: err, details: (err as SiError).details });
  }
  return { text: readFileSync(dest, 'utf8'), source: `${image}:${IMAGE_LAYOUT_PATH}` };
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
