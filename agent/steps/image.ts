// Steps: lay the image down over rsync (optionally staged through tmpfs) and apply the overrides in order.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { getBool } from '../params/validate.js';
import { sleepAbortable } from '../net/retry.js';
import { startEarlyKeygen } from '../target/host-keys.js';
import { ParamError, type Problem } from '../errors.js';
import { rsyncImage, applyOverrides, stageViaTmpfs } from '../transport/rsync/rsync.js';
import { type Ctx, type Step, param, rsyncEndpoint } from './context.js';
import { imageOverMulticast, multicastImage, multicastOverrides } from './multicast.js';
import { imageOverBittorrent, bittorrentImage, bittorrentOverrides } from './bittorrent.js';
import { imageOverHttp, httpImage, httpOverrides } from './http.js';

/** tmpfs mount options from the tmpfs_* parameters (SystemImager's names); mode 0755 by default. */
export function tmpfsOptions(ctx: Ctx): string {
  // Checked here because a comma in a value would smuggle further mount options in.
  const forms: Array<[string, string, RegExp, string]> = [
    ['tmpfs_mode', 'mode', /^[0-7]{3,4}$/, 'an octal mode'],
    ['tmpfs_size', 'size', /^\d+[kmgKMG%]?$/, 'a size like 2G or 50%'],
    ['tmpfs_nr_blocks', 'nr_blocks', /^\d+[kmgKMG]?$/, 'a number'],
    ['tmpfs_nr_inodes', 'nr_inodes', /^\d+[kmgKMG]?$/, 'a number'],
  ];
  const opts: string[] = [];
  const problems: Problem[] = [];
  for (const [name, option, re, what] of forms) {
    const v = param(ctx, name) ?? (name === 'tmpfs_mode' ? '0755' : undefined);
    if (v === undefined) continue;
    if (!re.test(v)) problems.push({ source: ctx.params.get(name)?.source ?? 'default', key: name, message: `"${v}" is not ${what}` });
    else opts.push(`${option}=${v}`);
  }
  if (problems.length > 0) throw new ParamError(problems);
  return opts.join(',');
}

/** Sends the image's progress to the reporter as `progress` events (phase image). */
function onImageProgress(ctx: Ctx) {
  return (p: { bytesDone: number; bytesTotal: number | null; percent: number; speedKBs: number; etaS: number | null }) =>
    ctx.report.emit({ type: 'progress', phase: 'image', ...p });
}

/** Pause between two flushes while the image comes in. */
const FLUSH_PAUSE_MS = 600;

/**
 * Sends the image's data on to the disk while the rest is still coming: `sync`, over and over, from the start of the
 * copy until the finish step unmounts the target (ctx.state.stopFlushing) or the flow ends. With much RAM the kernel
 * keeps it all in the page cache and writes it only when asked, so the sync before unmounting would wait for the
 * whole image; this way the disk writes while the network, overrides and configuring keep the rest busy.
 */
function startFlushing(ctx: Ctx): void {
  const stop = new AbortController();
  ctx.state.stopFlushing = () => stop.abort();
  const loop = (async () => {
    while (!stop.signal.aborted) {
      await sleepAbortable(FLUSH_PAUSE_MS, stop.signal).catch(() => undefined);
      if (stop.signal.aborted) break;
      await ctx.run('sync', [], { allowFail: true, quiet: true, timeout: 300_000 }).catch(() => undefined);
    }
  })();
  ctx.state.cleanups.push(async () => {
    stop.abort();
    await loop;
  });
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
    const started = Date.now();
    // rsync puts each file in place whole, so ssh-keygen can be tried while the image still comes; the other
    // transports extract in place, and it starts once the image is down.
    const whole = !imageOverHttp(ctx) && !imageOverMulticast(ctx) && !imageOverBittorrent(ctx);
    let laidDown: (ok: boolean) => void = () => undefined;
    if (whole) startHostKeys(ctx, new Promise<void>((res, rej) => (laidDown = (ok) => (ok ? res() : rej(new Error('image not laid down'))))));
    let via: string;
    try {
      via = await layImageDown(ctx, module);
    } catch (err) {
      laidDown(false);
      throw err;
    }
    laidDown(true);
    if (!whole) startHostKeys(ctx);
    ctx.report.info(`image ${module} laid down${via} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  },
};

/** Lays the image down with the transport in use; returns how, for the log (' over multicast', ...). */
async function layImageDown(ctx: Ctx, module: string): Promise<string> {
  startFlushing(ctx);
  if (imageOverHttp(ctx)) {
    ctx.state.imageBytes = await httpImage(ctx, module);
    return ` over ${new URL(param(ctx, 'HTTP_BASE')!).protocol === 'https:' ? 'HTTPS' : 'HTTP'}`;
  }
  if (imageOverMulticast(ctx)) {
    ctx.state.imageBytes = await multicastImage(ctx, module);
    return ' over multicast';
  }
  if (imageOverBittorrent(ctx)) {
    ctx.state.imageBytes = await bittorrentImage(ctx, module);
    return ' over BitTorrent';
  }
  const { server, port } = rsyncEndpoint(ctx);
  await rsyncImageStep(ctx, server, port, module);
  return '';
}

/**
 * The image's ssh-keygen makes the new SSH host keys beside the copy's end, overrides and configuration (it is the
 * longest thing configuring does, and random: RSA); the configure step puts them in place.
 */
function startHostKeys(ctx: Ctx, imageDown?: Promise<void>): void {
  const t = { run: ctx.run, report: ctx.report, sysroot: ctx.opts.sysroot, signal: ctx.signal };
  const job = startEarlyKeygen(t, imageDown ? { imageDown } : {});
  ctx.state.earlyKeygen = job;
  // However the flow ends, ssh-keygen is not left running (the configure step has awaited it when all went well).
  ctx.state.cleanups.push(async () => {
    job.abort();
    await job.done;
  });
}

/** The image over rsync, straight onto the target or staged through a tmpfs (TMPFS_STAGING). */
async function rsyncImageStep(ctx: Ctx, server: string, port: number, module: string): Promise<void> {
  if (getBool(ctx.params, 'TMPFS_STAGING')) {
    const staging = join(ctx.opts.workdir, 'tmpfs-staging');
    mkdirSync(staging, { recursive: true });
    await ctx.run('mount', ['-t', 'tmpfs', '-o', tmpfsOptions(ctx), 'tmpfs', staging]);
    try {
      const r = await stageViaTmpfs(ctx, { server, port, module, dest: ctx.opts.sysroot, staging, totalBytes: ctx.state.imageBytes, onProgress: onImageProgress(ctx) });
      ctx.state.imageBytes = r.bytes;
    } finally {
      await ctx.run('umount', [staging], { allowFail: true });
    }
  } else {
    // The size check's listing gave the image's size (when it could): progress is counted against it.
    const r = await rsyncImage(ctx, { server, port, module, dest: ctx.opts.sysroot, xattrs: 'auto', totalBytes: ctx.state.imageBytes, onProgress: onImageProgress(ctx) });
    ctx.state.imageBytes = r.bytes;
  }
}

export const overridesStep: Step = {
  name: 'overrides',
  title: 'Applying overrides',
  async run(ctx) {
    if (ctx.state.overrides.length === 0) return;
    const { applied, missing } = imageOverHttp(ctx)
      ? await httpOverrides(ctx, ctx.state.overrides)
      : imageOverMulticast(ctx)
      ? await multicastOverrides(ctx, ctx.state.overrides)
      : imageOverBittorrent(ctx)
        ? await bittorrentOverrides(ctx, ctx.state.overrides)
        : await applyOverrides(ctx, { ...rsyncEndpoint(ctx), names: ctx.state.overrides, dest: ctx.opts.sysroot });
    ctx.report.info(`overrides applied: ${applied.join(' ') || '(none)'}`);
    for (const m of missing) ctx.state.warnings.push(`override ${m} does not exist on the image server`);
  },
};
