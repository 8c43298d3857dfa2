// Step: read the parameters from the command line and local.cfg files, merge and validate them.

import { existsSync, readFileSync } from 'node:fs';
import { ParamError, SiError } from '../errors.js';
import { systemPaths } from '../exec/tools.js';
import { resolveParamsFromSources } from '../params/resolve.js';
import { parseCmdline } from '../params/cmdline.js';
import { parseLocalCfg } from '../params/local-cfg.js';
import { decideSearch } from '../params/local-cfg-places.js';
import type { Params } from '../params/types.js';
import type { Ctx, Step } from './context.js';
import { MediumProbe, readBlockFacts, readLastRootCfg, readRemovableCfg, usbStoragePresent, type FoundCfg, type SearchIo } from './local-cfg-search.js';
import { removableCandidates } from '../params/local-cfg-places.js';
import { waitForBootStage } from '../init/boot-stages.js';
import { resolveDeviceByMac } from './device-by-mac.js';
import { startEarlyNetwork, type EarlyNetwork } from './early-network.js';

/** The local.cfg files to read: those given, else /local.cfg when present (the initrd's baked-in one). */
export function findLocalCfgFiles(given: string[] | null, env: NodeJS.ProcessEnv = process.env): string[] {
  if (given) return given;
  const p = systemPaths(env).localCfg;
  return existsSync(p) ? [p] : [];
}

/** Reads a file given on the command line or found, with an error naming it. */
function readInput(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new SiError('E_PARAM', `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

export const readParametersStep: Step = {
  name: 'read-parameters',
  title: 'Reading installation parameters',
  async run(ctx: Ctx) {
    const files = findLocalCfgFiles(ctx.opts.localCfgFiles);
    const localCfgs = files.map((file) => ({ file, text: readInput(file, 'local.cfg') }));
    // Without --local-cfg, the SPEC 2 search goes on: LAST_ROOT's root, then removable media (later wins).
    if (ctx.opts.localCfgFiles === null) {
      // The network comes up meanwhile from what is known so far (the network step keeps it only if the search
      // changes none of its parameters): the search waits for the disk drivers, DHCP only for the NICs.
      const known = ctx.opts.network ? resolveParamsFromSources({ cmdlineText: ctx.opts.cmdlineText, localCfgs }) : undefined;
      const early = known && known.problems.length === 0 ? startEarlyNetwork(ctx, known.params) : undefined;
      try {
        localCfgs.push(...(await searchDevices(ctx, localCfgs)));
      } catch (err) {
        early?.abort.abort(err);
        throw err;
      }
      ctx.state.earlyNetwork = early;
    }
    const { params, problems } = resolveParamsFromSources({ cmdlineText: ctx.opts.cmdlineText, localCfgs });
    if (problems.length > 0) (ctx.state.earlyNetwork as EarlyNetwork | undefined)?.abort.abort(new Error('bad parameters'));
    if (problems.length > 0) throw new ParamError(problems);
    ctx.params = params;
    ctx.state.localCfgs = localCfgs;
    for (const f of localCfgs) ctx.report.info(`read local.cfg ${f.file}`);
    applyDeviceByMac(ctx, params);
  },
};

/** local.cfg from LAST_ROOT's root and from the first removable medium holding one, unless SKIP_LOCAL_CFG says no. */
async function searchDevices(ctx: Ctx, initrdCfgs: readonly { file: string; text: string }[]): Promise<FoundCfg[]> {
  const decision = decideSearch(
    parseCmdline(ctx.opts.cmdlineText).assignments,
    initrdCfgs.flatMap((c) => parseLocalCfg(c.text, c.file).assignments),
  );
  if (!decision.search) return [];
  const io: SearchIo = { run: ctx.run, report: ctx.report, workdir: ctx.opts.workdir };
  const found: FoundCfg[] = [];
  // In the initrd the storage drivers load in PID 1 while this worker starts: the devices are waited for here. A USB
  // stick or LAST_ROOT's disk may come up after its driver loads: then the list of block devices must settle too.
  const removable = ctx.opts.mode === 'init' || process.env.SI_SEARCH_REMOVABLE === '1';
  // Removable drives are asked whether they hold a medium as they appear, while the rest of the drivers load.
  const media = new MediumProbe();
  const modules = waitForBootStage('modules', ctx.report);
  if (removable) await media.watch(modules);
  await modules;
  if (decision.lastRoot || usbStoragePresent()) await waitForBootStage('devices', ctx.report);
  if (decision.lastRoot) {
    const cfg = await readLastRootCfg(io, decision.lastRoot.value, decision.lastRoot.source);
    if (cfg) found.push(cfg);
  }
  // Only init looks at removable media unasked: install and plan on a workstation leave its sticks alone.
  if (removable) {
    const blocks = readBlockFacts();
    const candidates = removableCandidates(blocks);
    ctx.report.info(`local.cfg search: ${candidates.length ? `removable media ${candidates.map((m) => `/dev/${m}`).join(' ')}` : 'no removable medium'}`);
    const cfg = await readRemovableCfg(io, blocks, media);
    if (cfg) {
      ctx.report.info(`local.cfg found on removable media ${cfg.file.replace(/^removable:/, '')}`);
      found.push(cfg);
    }
  }
  return found;
}

/** DEVICE given as a MAC address (as `si-agent stage` writes it) becomes the name this kernel gave that NIC. */
export function applyDeviceByMac(ctx: Ctx, params: Params): void {
  const dev = params.get('DEVICE');
  if (!dev) return;
  const name = resolveDeviceByMac(dev.value);
  if (name === undefined) return;
  if (name === null) {
    ctx.report.warn(`DEVICE=${dev.value} (${dev.source}): no network link has that MAC address here`);
    return;
  }
  params.set('DEVICE', { value: name, source: dev.source });
  ctx.report.info(`DEVICE ${dev.value} (${dev.source}) is ${name} here (matched by MAC)`);
}

/** Reads the kernel command line text from --cmdline, --cmdline-file or /proc/cmdline. */
export function readCmdlineText(opts: { cmdline?: string; cmdlineFile?: string }): string {
  if (opts.cmdline !== undefined) return opts.cmdline;
  return readInput(opts.cmdlineFile ?? systemPaths().cmdline, 'kernel command line file');
}
