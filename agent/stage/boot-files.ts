// The boot package on the image server (rsync module `boot`, SPEC 13): flavors offered, and kernel + initrd fetched.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, SiError } from '../errors.js';
import { unknownModuleOf } from '../transport/rsync/errors.js';
import { explainUnknownModule } from '../transport/rsync/modules.js';
import { runRsync } from '../transport/rsync/run.js';
import type { TransportCtx } from '../transport/seams.js';
import { checkName, rsyncUrl } from '../transport/rsync/url.js';

export const BOOT_MODULE = 'boot';
export const BOOT_FILES = ['kernel', 'initrd.img'] as const;

/** Stage gives up on a server that does not answer after two quick tries: nothing has been changed yet. */
const QUICK_RETRY = { attempts: 2, deadlineMs: 20_000, baseMs: 500 };

/** Entries of an rsync daemon directory listing: name and whether it is a directory (`.` left out). */
export function parseRsyncListing(stdout: string): { name: string; dir: boolean }[] {
  const out: { name: string; dir: boolean }[] = [];
  for (const l of stdout.split('\n')) {
    const m = /^([dl-])[rwxsStT-]{9}\s+[\d,.]+\s+\S+\s+\S+\s+(.+)$/.exec(l);
    if (m && m[2] !== '.') out.push({ name: m[2]!, dir: m[1] === 'd' });
  }
  return out;
}

/** Lists `boot/<path>/` on the server ('' for the module's top); errors name the server and what was asked. */
async function listBootDir(ctx: TransportCtx, server: string, port: number, path: string): Promise<{ name: string; dir: boolean }[]> {
  const url = rsyncUrl(server, port, path === '' ? `${BOOT_MODULE}/` : `${BOOT_MODULE}/${path}/`);
  try {
    const r = await runRsync(ctx, { what: `list ${url}`, args: ['--contimeout=10', url], timeoutMs: 60_000, retry: QUICK_RETRY });
    return parseRsyncListing(r.stdout);
  } catch (caught) {
    // After retries the runner's CommandError is the cause of the "failed after N attempts" error.
    const err = caught instanceof CommandError ? caught : (caught as Error).cause;
    if (!(err instanceof CommandError)) throw caught;
    if (unknownModuleOf(err.stderr) !== null) await explainUnknownModule(ctx, err, server, port);
    if (err.exitCode === 23) throw new SiError('E_SERVER', `image server ${server}:${port} has no ${BOOT_MODULE}/${path}/`, { cause: err, details: err.details });
    if (err.exitCode === 10 || err.exitCode === 35 || err.exitCode === 5 || err.exitCode === 12) {
      throw new SiError('E_SERVER', `image server ${server}:${port} does not answer (rsync exit code ${err.exitCode}): is its rsync daemon running?`, { cause: err, details: err.details });
    }
    throw caught;
  }
}

/** Checks that the server offers boot/<arch>/<flavor>/ with kernel and initrd.img; errors list what does exist. */
export async function checkFlavor(ctx: TransportCtx, server: string, port: number, arch: string, flavor: string): Promise<void> {
  checkName(arch, 'architecture');
  checkName(flavor, 'flavor');
  const arches = await listBootDir(ctx, server, port, '').catch(() => undefined);
  if (arches && !arches.some((a) => a.dir && a.name === arch)) {
    throw new SiError('E_SERVER', `image server ${server}:${port} has no boot package for ${arch}; it offers: ${arches.filter((a) => a.dir).map((a) => a.name).join(', ') || 'none'}`);
  }
  const flavors = (await listBootDir(ctx, server, port, arch)).filter((e) => e.dir).map((e) => e.name);
  if (!flavors.includes(flavor)) {
    throw new SiError('E_USAGE', `flavor "${flavor}" is not on image server ${server}:${port} (${BOOT_MODULE}/${arch}/); it offers: ${flavors.join(', ') || 'none'}`);
  }
  const files = (await listBootDir(ctx, server, port, `${arch}/${flavor}`)).map((e) => e.name);
  const missing = BOOT_FILES.filter((f) => !files.includes(f));
  if (missing.length > 0) {
    throw new SiError('E_SERVER', `${BOOT_MODULE}/${arch}/${flavor}/ on ${server}:${port} lacks ${missing.join(' and ')}; it holds: ${files.join(', ') || 'nothing'}`);
  }
}

export interface FetchedBoot {
  kernel: string;
  initrd: string;
  sha256: Record<'kernel' | 'initrd.img', string>;
}

/** sha256 of a file, hex. */
export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Copies kernel and initrd.img of the flavor into dir (outside the target: a failed fetch changes nothing). */
export async function fetchBootFiles(ctx: TransportCtx, server: string, port: number, arch: string, flavor: string, dir: string): Promise<FetchedBoot> {
  for (const f of BOOT_FILES) {
    const url = rsyncUrl(server, port, `${BOOT_MODULE}/${arch}/${flavor}/${f}`);
    await runRsync(ctx, { what: `fetch ${url}`, args: ['--copy-links', '--times', '--contimeout=10', url, join(dir, f)], timeoutMs: 30 * 60 * 1000, retry: QUICK_RETRY });
  }
  const kernel = join(dir, 'kernel');
  const initrd = join(dir, 'initrd.img');
  return { kernel, initrd, sha256: { kernel: sha256File(kernel), 'initrd.img': sha256File(initrd) } };
}
