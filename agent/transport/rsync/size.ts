// The size of an image as the rsync daemon lists it (a dry run's --stats), to check it fits before any disk is written.

import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CONNECT_TIMEOUT_S } from './modules.js';
import { parseRsyncStats } from './progress.js';
import { runRsync, type TransportCtx } from './run.js';
import { IMAGE_EXCLUDES } from './image.js';
import { checkName, rsyncUrl } from './url.js';

/** Total bytes of the image's files (apparent sizes: sparse files count whole), or null when the server did not say. */
export async function listImageBytes(ctx: TransportCtx, server: string, port: number | undefined, module: string, scratch: string): Promise<number | null> {
  const r = await readImageBytes(ctx, server, port, module, scratch);
  if (r.error !== undefined) ctx.report.warn(r.error);
  return r.bytes;
}

/**
 * As listImageBytes, but the reason the size is not known comes back instead of being warned about: a listing started
 * ahead of need (alongside other steps) says nothing unless its answer is used.
 */
export async function readImageBytes(ctx: TransportCtx, server: string, port: number | undefined, module: string, scratch: string): Promise<{ bytes: number | null; error?: string }> {
  const url = rsyncUrl(server, port, checkName(module, 'image') + '/');
  const empty = mkdtempSync(join(scratch, 'size-'));
  try {
    const r = await runRsync(ctx, {
      what: `list image ${module}`,
      args: ['-n', '-a', '--numeric-ids', '--stats', '--no-inc-recursive', ...IMAGE_EXCLUDES, `--contimeout=${CONNECT_TIMEOUT_S}`, url, empty + '/'],
      timeoutMs: 300_000,
    });
    return { bytes: parseRsyncStats(r.stdout).totalFileSize };
  } catch (err) {
    return { bytes: null, error: `image size not known (${(err as Error).message.split('\n')[0]}): the copy itself will tell if it does not fit` };
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
}
