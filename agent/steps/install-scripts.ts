// Steps: run pre-install scripts in the install environment and post-install scripts chrooted in the target.

import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemPaths } from '../exec/tools.js';
import { selectInstallScripts } from '../plan/install-scripts.js';
import { formatVariablesTxt, parseAssignmentsFile } from '../params/variables-txt.js';
import { applyCheckedLayer } from '../params/resolve.js';
import type { Params } from '../params/types.js';
import { CommandError, ParamError, withContext } from '../errors.js';
import { getUint } from '../params/validate.js';
import { stopProcessesInside } from '../disk/target-processes.js';
import { type Ctx, type Step, param } from './context.js';


/** The scripts of a scripts/ subdirectory that apply to this host, in run order. */
export function scriptsFor(ctx: Ctx, sub: 'pre-install' | 'post-install'): string[] {
  const dir = join(ctx.state.scriptsDir!, sub);
  if (!existsSync(dir)) return [];
  return selectInstallScripts(readdirSync(dir), {
    imageName: param(ctx, 'IMAGENAME'),
    baseHostname: param(ctx, 'BASE_HOSTNAME'),
    groups: ctx.state.groups,
    hostname: param(ctx, 'HOSTNAME'),
  });
}

/** Parameters as environment variables for scripts (plus PATH and HOME). */
function scriptEnv(params: Params): NodeJS.ProcessEnv {
  // SI_TMP tells scripts where the install's /tmp is (the initrd's /tmp, or a test's own directory).
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', TERM: process.env.TERM ?? 'linux', SI_TMP: systemPaths().tmp };
  for (const [k, v] of params) env[k] = v.value;
  return env;
}

/** Runs scripts in order, each made executable first; a failing one is fatal and named. */
async function runScripts(ctx: Ctx, kind: string, scripts: string[], dir: string, argvOf: (path: string, name: string) => [string, string[]], cwd: string): Promise<void> {
  for (const name of scripts) {
    const path = join(dir, name);
    chmodSync(path, 0o755);
    ctx.report.info(`${kind} script ${name}`);
    const [tool, args] = argvOf(path, name);
    const timeoutS = getUint(ctx.params, 'SCRIPT_TIMEOUT');
    try {
      await ctx.run(tool, args, { env: scriptEnv(ctx.params), cwd, timeout: timeoutS * 1000, signal: ctx.signal });
    } catch (err) {
      const timedOut = err instanceof CommandError && err.code === 'E_TIMEOUT';
      throw withContext(err, timedOut ? `${kind} script ${name} was killed after SCRIPT_TIMEOUT=${timeoutS} s` : `${kind} script ${name}`);
    }
  }
}

export const preInstallStep: Step = {
  name: 'pre-install',
  title: 'Running pre-install scripts',
  async run(ctx) {
    const scripts = scriptsFor(ctx, 'pre-install');
    ctx.state.preInstallScripts = scripts;
    if (scripts.length === 0) return;
    const tmp = systemPaths().tmp;
    const varsOut = join(tmp, 'pre-install_variables.txt');
    rmSync(varsOut, { force: true });
    writeFileSync(join(tmp, 'variables.txt'), formatVariablesTxt(ctx.params));
    const dir = join(ctx.state.scriptsDir!, 'pre-install');
    await runScripts(ctx, 'pre-install', scripts, dir, (path) => [path, []], dir);
    if (existsSync(varsOut)) {
      const { assignments, problems } = parseAssignmentsFile(readFileSync(varsOut, 'utf8'), `pre-install:${varsOut}`);
      for (const p of problems) ctx.report.warn(`${p.source} ${p.key}: ${p.message}`);
      const checked = applyCheckedLayer(ctx.params, assignments);
      if (checked.problems.length > 0) throw new ParamError(checked.problems);
      ctx.params = checked.params;
      ctx.report.info(`read ${assignments.length} variable(s) from ${varsOut}`);
    }
  },
};

/** Bind-mounts /dev, /proc and /sys into the target for chrooted work; returns the undo (which also removes mount points it made). */
export async function bindSystemDirs(ctx: Ctx): Promise<() => Promise<void>> {
  const done: string[] = [];
  const made: string[] = [];
  const undo = async () => {
    for (const t of [...done].reverse()) await ctx.run('umount', ['-l', t], { allowFail: true });
    for (const t of made) rmdirSync(t);
  };
  try {
    for (const d of ['dev', 'proc', 'sys']) {
      const target = join(ctx.opts.sysroot, d);
      if (!existsSync(target)) {
        mkdirSync(target);
        made.push(target);
      }
      await ctx.run('mount', ['--bind', `/${d}`, target]);
      done.push(target);
    }
  } catch (err) {
    await undo();
    throw err;
  }
  return undo;
}

export const postInstallStep: Step = {
  name: 'post-install',
  title: 'Running post-install scripts (chrooted)',
  async run(ctx) {
    const scripts = scriptsFor(ctx, 'post-install');
    ctx.state.postInstallScripts = scripts;
    if (scripts.length === 0) return;
    const inTarget = '/tmp/post-install';
    const dir = join(ctx.opts.sysroot, inTarget);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const s of scripts) cpSync(join(ctx.state.scriptsDir!, 'post-install', s), join(dir, s));
    writeFileSync(join(dir, 'variables.txt'), formatVariablesTxt(ctx.params));
    const unbind = await bindSystemDirs(ctx);
    try {
      await runScripts(ctx, 'post-install', scripts, dir, (_path, name) => ['chroot', [ctx.opts.sysroot, `${inTarget}/${name}`]], '/');
    } finally {
      // A daemon a script started would hold the target's filesystems busy: it does not outlive the scripts.
      await stopProcessesInside(ctx.opts.sysroot, ctx.report);
      await unbind();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
