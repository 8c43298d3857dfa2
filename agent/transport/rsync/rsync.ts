// rsync transport: fetch the scripts module and single files, list modules, tell the server imaging is complete.

import { isIPv6 } from 'node:net';
import { CONNECT_TIMEOUT_S, explainUnknownModule } from './modules.js';
import { runRsync, SOCKOPTS, type TransportCtx } from './run.js';
import { isSafeName, rsyncUrl } from './url.js';

export type { TransportCtx, XattrMode } from './run.js';
export { rsyncImage, stageViaTmpfs, type ImageOptions, type StageOptions } from './image.js';
export { applyOverrides, type OverridesOptions } from './overrides.js';
export type { RsyncProgress } from './progress.js';
export { listModules, parseModuleList, explainUnknownModule, CONNECT_TIMEOUT_S } from './modules.js';

export interface FetchOptions {
  server: string;
  port?: number;
  /** `module/path`: `scripts/` for a directory's contents, `img/etc/systemimager/autoinstallscript.conf` for one file. */
  src: string;
  dest: string;
  extraArgs?: string[];
  timeoutMs?: number;
}

/** Copies a module path (directory contents or one file) from the image server, retrying connection failures. */
export async function rsyncFetch(ctx: TransportCtx, opts: FetchOptions): Promise<void> {
  const url = rsyncUrl(opts.server, opts.port, opts.src);
  const args = ['-a', '--numeric-ids', `--contimeout=${CONNECT_TIMEOUT_S}`, ...(opts.extraArgs ?? []), url, opts.dest];
  try {
    await runRsync(ctx, { what: `fetch ${url}`, args, timeoutMs: opts.timeoutMs });
  } catch (err) {
    await explainUnknownModule(ctx, err, opts.server, opts.port);
  }
}

/** Tells the image server this client is done (`scripts/imaging_complete_<ip>`): the daemon's log records the request; errors are only logged. */
export async function notifyImagingComplete(ctx: TransportCtx, server: string, port: number | undefined, ip: string): Promise<void> {
  const file = `imaging_complete_${ip}`;
  // An IPv6 address keeps its colons: rsync takes them in a module path (imaging_complete_fd42:77::105).
  if (!isSafeName(file) && !(isIPv6(ip) && /^[0-9a-f:]+$/.test(ip))) {
    ctx.report.warn(`not telling the image server that imaging is complete: ${JSON.stringify(ip)} is not an address`);
    return;
  }
  try {
    const url = rsyncUrl(server, port, 'scripts/') + file;
    // The file does not exist: the request itself, in the daemon's log, is the message. --ignore-missing-args spares
    // the daemon its error path (it waits 0.1 s before hanging up on an error); a daemon older than rsync 3.1 does
    // not know the option, and is asked again without it (then exit 23 is normal).
    const ask = (args: string[]) => ctx.run('rsync', [SOCKOPTS, `--contimeout=${CONNECT_TIMEOUT_S}`, ...args, url], { timeout: 30_000, allowFail: true, signal: ctx.signal });
    let r = await ask(['--ignore-missing-args']);
    if (r.code !== 0 && /ignore-missing-args/.test(r.stderr)) r = await ask([]);
    if (r.code !== 0 && r.code !== 23) {
      ctx.report.warn(`could not tell the image server that imaging is complete: rsync exit code ${String(r.code)}: ${r.stderr.trim().split('\n')[0] ?? ''}`);
    }
  } catch (err) {
    ctx.report.warn(`could not tell the image server that imaging is complete: ${err instanceof Error ? err.message : String(err)}`);
  }
}
