// Steps: lay the image down over rsync (optionally staged through tmpfs) and apply the overrides in order.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { getBool } from '../params/validate.js';
import { rsyncImage, applyOverrides, stageViaTmpfs } from '../transport/rsync.js';
import { type Ctx, type Step, param } from './context.js';
import { imageServer } from './server-scripts.js';

/** Sends the image's progress to the reporter as `progress` events (phase image). */
function onImageProgress(ctx: Ctx) {
  return (p: { bytesDone: number; bytesTotal: number | null; percent: number; speedKBs: number; etaS: number | null }) =>
    ctx.report.emit({ type: 'progress', phase: 'image', ...p });
}

export const imageStep: Step = {
  name: 'image',
  title: 'Laying the image down',
  async run(ctx) {
    const module = param(ctx, 'IMAGENAME')!;
    if (getBool(ctx.params, 'NOSYNC')) {
      ctx.report.warn('NOSYNC is set: the image is not laid down');
      return;
    }
    const server = imageServer(ctx);
    const started = Date.now();
    if (getBool(ctx.params, 'TMPFS_STAGING')) {
      const staging = join(ctx.opts.workdir, 'tmpfs-staging');
      mkdirSync(staging, { recursive: true });
      const r = await stageViaTmpfs(ctx, { server, port: ctx.opts.rsyncPort, module, dest: ctx.opts.sysroot, staging, onProgress: onImageProgress(ctx) });
      ctx.state.imageBytes = r.bytes;
    } else {
      const r = await rsyncImage(ctx, { server, port: ctx.opts.rsyncPort, module, dest: ctx.opts.sysroot, xattrs: 'auto', onProgress: onImageProgress(ctx) });
      ctx.state.imageBytes = r.bytes;
    }
    ctx.report.info(`image ${module} laid down in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  },
};

export const overridesStep: Step = {
  name: 'overrides',
  title: 'Applying overrides',
  async run(ctx) {
    if (ctx.state.overrides.length === 0) return;
    const { applied, missing } = await applyOverrides(ctx, { server: imageServer(ctx), port: ctx.opts.rsyncPort, names: ctx.state.overrides, dest: ctx.opts.sysroot });
    ctx.report.info(`overrides applied: ${applied.join(' ') || '(none)'}`);
    for (const m of missing) ctx.state.warnings.push(`override ${m} does not exist on the image server`);
  },
};
