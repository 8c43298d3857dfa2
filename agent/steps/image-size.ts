// The image's size, listed over the rsync daemon as soon as IMAGENAME is known, for the check that it fits the disks.
// Apart from the disk steps so that starting it (at identify) does not load the layout parser and the disk code.

import { mkdirSync } from 'node:fs';
import { readImageBytes } from '../transport/rsync/size.js';
import { isSafeName } from '../transport/rsync/url.js';
import { getBool } from '../params/validate.js';
import { type Ctx, param, rsyncEndpoint } from './context.js';

/** The image size listing under way or done: for which image on which daemon, and its answer. */
export interface SizeListing {
  key: string;
  result: Promise<{ bytes: number | null; error?: string }>;
}

/** Whether the image-fits check applies: rsync-like transports that lay an image down. */
export function sizeCheckApplies(ctx: Ctx): boolean {
  const t = ctx.state.transport;
  return (t === 'rsync' || t === 'ssh' || t === 'sshd') && !getBool(ctx.params, 'NOSYNC');
}

/** The image's size listing (a dry run over the daemon), started now unless one for this image and daemon already is. */
export function imageSizeListing(ctx: Ctx, image: string): SizeListing {
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

