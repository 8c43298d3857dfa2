// Step: read the parameters from the command line and local.cfg files, merge and validate them.

import { existsSync, readFileSync } from 'node:fs';
import { ParamError, SiError } from '../errors.js';
import { systemPaths } from '../exec/tools.js';
import { resolveParamsFromSources } from '../params/resolve.js';
import type { Ctx, Step } from './context.js';

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
    const { params, problems } = resolveParamsFromSources({ cmdlineText: ctx.opts.cmdlineText, localCfgs });
    if (problems.length > 0) throw new ParamError(problems);
    ctx.params = params;
    ctx.state.localCfgs = localCfgs;
    for (const f of files) ctx.report.info(`read local.cfg ${f}`);
  },
};

/** Reads the kernel command line text from --cmdline, --cmdline-file or /proc/cmdline. */
export function readCmdlineText(opts: { cmdline?: string; cmdlineFile?: string }): string {
  if (opts.cmdline !== undefined) return opts.cmdline;
  return readInput(opts.cmdlineFile ?? systemPaths().cmdline, 'kernel command line file');
}
