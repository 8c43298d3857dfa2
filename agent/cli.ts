// The si-agent subcommands (SPEC 14): install, plan, init, stage, publish, version.

import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SiError } from './errors.js';
import { parseCliArgs, USAGE, type CliCommand } from './cli-args.js';
import { createRunner } from './exec/runner.js';
import { Reporter } from './report/events.js';
import { attachSinks } from './report/setup.js';
import { systemPaths } from './exec/tools.js';
import { newFlowState, type Ctx, type FlowOptions, type Mode } from './steps/context.js';
import { runFlow, stepsFor } from './steps/flow.js';
import { startCost } from './init/boot-clock.js';
import { readCmdlineText } from './steps/parameters.js';
import { buildPlanObject, formatPlanText } from './plan-output.js';

declare const SI_AGENT_VERSION: string | undefined;

/** The agent's version (from package.json at bundle time). */
export function agentVersion(): string {
  return typeof SI_AGENT_VERSION === 'string' ? SI_AGENT_VERSION : 'dev';
}

/** Builds the flow options from the parsed command line. */
function flowOptions(cmd: CliCommand, mode: Mode): FlowOptions {
  const workdir = cmd.workdir ?? (mode === 'init' ? systemPaths().tmp : mkdtempSync(join(tmpdir(), 'si-agent.')));
  mkdirSync(workdir, { recursive: true });
  const sysroot = cmd.sysroot ?? (mode === 'init' ? systemPaths().sysroot : join(workdir, 'sysroot'));
  return {
    mode,
    cmdlineText: readCmdlineText(cmd),
    localCfgFiles: cmd.localCfg.length ? cmd.localCfg : null,
    disks: cmd.disks.length ? cmd.disks : null,
    sysroot,
    workdir,
    network: cmd.network || mode === 'init',
    performPostAction: cmd.performPostAction || mode === 'init',
    rsyncPort: cmd.rsyncPort ?? Number(process.env.SI_RSYNC_PORT ?? 873),
    logPath: cmd.log ?? systemPaths().log,
    sshKeys: cmd.sshKeys,
    authorizedKeys: cmd.authorizedKeys,
  };
}

/**
 * Removes the scratch directory the agent made for itself (scripts copy, default sysroot) after a run; a failed run
 * keeps it for the operator, and nothing is removed while anything is still mounted below it.
 */
function removeOwnWorkdir(dir: string, ok: boolean, reporter: Reporter): void {
  const mounts = readFileSync(systemPaths().procMounts, 'utf8').split('\n').map((l) => (l.split(' ')[1] ?? '').replace(/\\040/g, ' '));
  const busy = mounts.filter((m) => m === dir || m.startsWith(dir + '/'));
  if (!ok || busy.length > 0) {
    reporter.info(`scratch directory ${dir} kept${busy.length ? ` (still mounted: ${busy.join(', ')})` : ''}`);
    return;
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Runs install, plan or init; returns the exit code. */
async function runFlowCommand(cmd: CliCommand, mode: Mode): Promise<number> {
  if (mode === 'install' && cmd.disks.length === 0) {
    throw new SiError('E_USAGE', 'install refuses to touch any disk unless told which: give --disk DEV (repeatable) for each disk it may write');
  }
  const opts = flowOptions(cmd, mode);
  const reporter = new Reporter();
  // plan --json keeps stdout for the JSON object: progress goes to stderr.
  await attachSinks(reporter, { out: mode === 'plan' ? process.stderr : process.stdout, verbose: cmd.verbose, logPath: opts.logPath, eventsPath: cmd.events });
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    reporter.warn(`received ${sig}: stopping`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const ctx: Ctx = { opts, run: createRunner(reporter), report: reporter, signal: controller.signal, params: new Map(), state: newFlowState() };
  reporter.info(`si-agent ${agentVersion()} ${mode}`);
  if (mode === 'init') reporter.info(`boot: worker ${startCost()}`);
  const result = await runFlow(ctx, stepsFor(mode, opts.network));
  if (!cmd.workdir && mode !== 'init') removeOwnWorkdir(opts.workdir, result.ok, reporter);
  if (mode === 'plan' && result.ok) {
    const obj = buildPlanObject(ctx);
    process.stdout.write(cmd.json ? JSON.stringify(obj, null, 2) + '\n' : formatPlanText(obj));
  }
  for (const w of ctx.state.warnings) reporter.warn(w);
  // Network sinks (monitor, syslog) finish while the console can still say what they could not deliver.
  for (const drain of ctx.state.drains.splice(0)) await drain();
  // maxRSS is in KiB: the figure operators size an initrd's memory by.
  reporter.info(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MiB`);
  await reporter.close();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return result.exitCode;
}

/** Entry point: parses argv, runs the command, returns the exit code (never throws). */
export async function main(argv: readonly string[]): Promise<number> {
  let cmd: CliCommand;
  try {
    cmd = parseCliArgs(argv);
  } catch (err) {
    process.stderr.write(`si-agent: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    switch (cmd.command) {
      case 'help':
        process.stdout.write(USAGE + '\n');
        return 0;
      case 'version':
        process.stdout.write(`si-agent ${agentVersion()} (node ${process.version})\n`);
        return 0;
      case 'init':
        // The worker does the install; without --worker this is PID 1's supervisor.
        if (!cmd.worker) return await (await import('./init/pid1.js')).runPid1();
        return await runFlowCommand(cmd, 'init');
      case 'install':
      case 'plan':
        return await runFlowCommand(cmd, cmd.command);
      case 'stage':
        return await (await import('./stage/stage-cli.js')).runStageCommand(cmd);
      case 'publish':
        return await (await import('./publish/publish-cli.js')).runPublishCommand(cmd);
    }
  } catch (err) {
    const e = err as SiError;
    process.stderr.write(`si-agent: ${e.message}\n`);
    for (const d of e.details ?? []) process.stderr.write(`  ${d}\n`);
    return e.code === 'E_USAGE' || e.code === 'E_PARAM' ? 2 : 1;
  }
}
