// Multicast install (SPEC 7, Flamethrower): the directory, the scripts, the image and each override, each a cast into the extractor.

import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SiError } from '../errors.js';
import { getBool, getPort, getUint } from '../params/validate.js';
import { DIRECTORY_MODULE, readDirectory, type CastSettings } from '../transport/multicast/modules.js';
import { receiveCast } from '../transport/multicast/receive.js';
import type { ExtractResult } from '../transport/tar/extract.js';
import { type Ctx, param } from './context.js';
import { castProgress, imageSkip, publishedDigest, publishedSize } from './multicast-extras.js';

/** True when the install goes over multicast: FLAMETHROWER_DIRECTORY_PORTBASE is set (empty means 9000). */
export function isMulticast(ctx: Ctx): boolean {
  return ctx.params.get('FLAMETHROWER_DIRECTORY_PORTBASE') !== undefined;
}

/** True when the image and overrides come over multicast too (BitTorrent only takes its torrents from the directory). */
export function imageOverMulticast(ctx: Ctx): boolean {
  return isMulticast(ctx) && !getBool(ctx.params, 'BITTORRENT');
}

function directoryDir(ctx: Ctx): string {
  return join(ctx.opts.workdir, DIRECTORY_MODULE);
}

/** The data multicast address each flow's casts learnt (udpcast uses one per sender interface): a receiver that
 *  starts while a cast is under way hears that cast on it. Keyed by the flow's state, so nothing outlives a flow. */
const learntDataAddr = new WeakMap<object, string>();

async function cast(ctx: Ctx, settings: CastSettings, dest: string, extra: { expectSha256?: string; onBytes?: (n: number) => void; skip?: (rel: string) => boolean } = {}): Promise<ExtractResult> {
  const r = await receiveCast(ctx, {
    dataAddr: learntDataAddr.get(ctx.state),
    settings,
    iface: param(ctx, 'DEVICE'),
    dest,
    waitS: getUint(ctx.params, 'FLAMETHROWER_WAIT'),
    retries: getUint(ctx.params, 'FLAMETHROWER_RETRIES'),
    ...extra,
  });
  if (r.dataAddr) learntDataAddr.set(ctx.state, r.dataAddr);
  ctx.report.info(`multicast ${settings.module}: ${r.bytes} bytes, ${r.entries} entries, sha256 ${r.sha256}${r.attempts > 1 ? ` (attempt ${r.attempts})` : ''}`);
  return r;
}

/** Receives the Flamethrower directory (SPEC 1 step 7) once per flow and reads its module files. */
export async function flamethrowerDirectory(ctx: Ctx): Promise<Map<string, CastSettings>> {
  const dir = directoryDir(ctx);
  if (!existsSync(join(dir, '.received'))) {
    const portbase = getPort(ctx.params, 'FLAMETHROWER_DIRECTORY_PORTBASE');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    ctx.state.transport = 'multicast';
    ctx.state.transportInfo = { ...ctx.state.transportInfo, transport: 'multicast' };
    ctx.report.emit({ type: 'transport', transport: 'multicast', peer: `portbase ${portbase}${param(ctx, 'DEVICE') ? ` on ${param(ctx, 'DEVICE')}` : ''}`, detail: 'Flamethrower casts through udp-receiver' });
    await cast(ctx, { module: DIRECTORY_MODULE, portbase, nosync: false, async: false }, dir);
    const modules = readDirectory(dir, (m) => ctx.report.warn(m));
    ctx.report.info(`Flamethrower directory: ${[...modules.values()].map((m) => `${m.module}@${m.portbase}`).join(' ') || '(no modules)'}`);
    // Marks a directory read whole: the image step reads it again without a second cast.
    mkdirSync(join(dir, '.received'));
    return modules;
  }
  return readDirectory(dir, () => undefined);
}

/** The settings of a module, or an error naming what the directory does offer. */
function moduleOf(modules: Map<string, CastSettings>, name: string, what: string): CastSettings {
  const s = modules.get(name);
  if (s) return s;
  throw new SiError('E_SERVER', `the Flamethrower directory has no module ${name} (${what}); it offers: ${[...modules.keys()].join(', ') || '(none)'}`);
}

/** Receives the scripts directory from module autoinstall_scripts into dest. */
export async function multicastScripts(ctx: Ctx, dest: string): Promise<void> {
  const modules = await flamethrowerDirectory(ctx);
  await cast(ctx, moduleOf(modules, 'autoinstall_scripts', 'the scripts directory'), dest);
}

/** Lays the image down from its module, with progress, the SPEC 7 excludes and the published digest checked. */
export async function multicastImage(ctx: Ctx, module: string): Promise<number> {
  const settings = moduleOf(await flamethrowerDirectory(ctx), module, 'the image');
  const scripts = ctx.state.scriptsDir!;
  const total = publishedSize(scripts, module, (m) => ctx.report.warn(m));
  const progress = castProgress(ctx, 'image', total);
  const r = await cast(ctx, settings, ctx.opts.sysroot, { expectSha256: publishedDigest(scripts, module), onBytes: progress.update, skip: imageSkip });
  progress.finish(r.bytes);
  ctx.state.transportInfo = { ...ctx.state.transportInfo, image_sha256: r.sha256 };
  ctx.report.emit({ type: 'transport', transport: 'multicast', detail: `image ${module}: ${r.bytes} bytes, sha256 ${r.sha256}${publishedDigest(scripts, module) ? ' (matches the published digest)' : ''}` });
  return r.bytes;
}

/** Applies each override (`override_<name>`) in order; one the directory lacks is a warning, as over rsync. */
export async function multicastOverrides(ctx: Ctx, names: string[]): Promise<{ applied: string[]; missing: string[] }> {
  const modules = await flamethrowerDirectory(ctx);
  const applied: string[] = [];
  const missing: string[] = [];
  for (const name of names) {
    const module = `override_${name}`;
    const settings = modules.get(module);
    if (!settings) {
      ctx.report.warn(`override ${name} has no multicast module ${module} in the Flamethrower directory: skipped`);
      missing.push(name);
      continue;
    }
    await cast(ctx, settings, ctx.opts.sysroot, { expectSha256: publishedDigest(ctx.state.scriptsDir!, module) });
    applied.push(name);
  }
  return { applied, missing };
}

/** The image names the directory offers (modules that are not scripts, torrents or overrides). */
export async function multicastImages(ctx: Ctx): Promise<string[]> {
  const modules = await flamethrowerDirectory(ctx);
  return [...modules.keys()].filter((m) => !/^(autoinstall_scripts|autoinstall_torrents|override_.*)$/.test(m));
}

/**
 * Receives one module's cast into `dest` for a 4.3 master's `flamethrower_client`: the image (the module named
 * IMAGENAME) with its progress, excludes and published digest, anything else as it comes. Returns the bytes, or null
 * when the directory has no such module (a warning, as 4.3 gave).
 */
export async function multicastModule(ctx: Ctx, module: string, dest: string, retries?: number): Promise<number | null> {
  const settings = (await flamethrowerDirectory(ctx)).get(module);
  if (!settings) {
    ctx.report.warn(`flamethrower_client: the Flamethrower directory has no module ${module}: nothing received`);
    return null;
  }
  const scripts = ctx.state.scriptsDir!;
  const isImage = module === param(ctx, 'IMAGENAME');
  const progress = isImage ? castProgress(ctx, 'image', publishedSize(scripts, module, (m) => ctx.report.warn(m))) : undefined;
  const r = await receiveCast(ctx, {
    dataAddr: learntDataAddr.get(ctx.state),
    settings,
    iface: param(ctx, 'DEVICE'),
    dest,
    waitS: getUint(ctx.params, 'FLAMETHROWER_WAIT'),
    retries: Math.max(retries ?? 0, getUint(ctx.params, 'FLAMETHROWER_RETRIES')),
    expectSha256: publishedDigest(scripts, module),
    onBytes: progress?.update,
    skip: isImage ? imageSkip : undefined,
  });
  if (r.dataAddr) learntDataAddr.set(ctx.state, r.dataAddr);
  progress?.finish(r.bytes);
  ctx.report.info(`multicast ${module} into ${dest}: ${r.bytes} bytes, ${r.entries} entries, sha256 ${r.sha256}${r.attempts > 1 ? ` (attempt ${r.attempts})` : ''}`);
  return r.bytes;
}
