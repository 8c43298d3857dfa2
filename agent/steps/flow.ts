// The install flow: the ordered steps of SPEC 1 for install and plan, and what happens when one fails.

import { SiError } from '../errors.js';
import type { DiskPlan } from '../plan/disk-plan.js';
import { describeDiskState, type DiskState } from '../disk/disk-state.js';
import { type Ctx, type Step, runCleanups } from './context.js';
import { runSteps, StepFailure } from './run-steps.js';
import { readParametersStep } from './parameters.js';
import { networkStep } from './network.js';
import { reportingStep } from './reporting.js';
import { clientAddressStep, fetchScriptsStep, identifyStep, chooseScriptStep } from './server-scripts.js';
import { preInstallStep, postInstallStep } from './install-scripts.js';

/**
 * A step whose code loads when it first runs. The steps from the disk plan on (the layout parser, disk, image, target
 * and BitTorrent code: most of the agent) are not evaluated while the worker starts, before the network and the
 * first image byte (a tenth of a second and more of an emulated boot). The name and title are the step's own; a
 * unit test holds them to it.
 */
export function lazyStep(name: string, title: string, load: () => Promise<Step>, when?: Step['when']): Step {
  return { name, title, ...(when ? { when } : {}), run: async (ctx) => (await load()).run(ctx) };
}

/** The agent's own install from the layout: every step of it but when the chosen script runs as the install. */
const native: Step['when'] = (ctx) => ctx.state.scriptMode !== 'run';

const planDisksStep = lazyStep('plan-disks', 'Checking the disk layout against the disks', async () => (await import('./disks.js')).planDisksStep, native);
const partitionStep = lazyStep('partition', 'Partitioning, RAID, LVM, filesystems, mounts', async () => (await import('./disks.js')).partitionStep, native);
const imageStep = lazyStep('image', 'Laying the image down', async () => (await import('./image.js')).imageStep, native);
const overridesStep = lazyStep('overrides', 'Applying overrides', async () => (await import('./image.js')).overridesStep, native);
const finalizeStep = lazyStep('finalize', 'Writing fstab and the image stamp', async () => (await import('./finish.js')).finalizeStep, native);
const configureStep = lazyStep('configure', 'Configuring the installed system', async () => (await import('./configure.js')).configureStep, native);
const seedStep = lazyStep('bittorrent-seed', 'Seeding the BitTorrent tarballs', async () => (await import('./bittorrent-session.js')).seedStep, native);
const finishStep = lazyStep('finish', 'Unmounting and telling the image server', async () => (await import('./finish.js')).finishStep, native);
const masterStep = lazyStep('master', 'Running the autoinstall script (SystemImager 4.3 master)', async () => (await import('./master-run.js')).masterRunStep, (ctx) => ctx.state.scriptMode === 'run');
const postActionStep = lazyStep('post-action', 'Post-install action', async () => (await import('./finish.js')).postActionStep);

const nativePostInstallStep: Step = { ...postInstallStep, when: native };

/** Steps of a real install, in SPEC 1 order (network bring-up is added in front by init). */
export const INSTALL_STEPS: readonly Step[] = [
  readParametersStep,
  clientAddressStep,
  reportingStep,
  fetchScriptsStep,
  identifyStep,
  preInstallStep,
  chooseScriptStep,
  masterStep,
  planDisksStep,
  partitionStep,
  imageStep,
  overridesStep,
  finalizeStep,
  configureStep,
  nativePostInstallStep,
  // BitTorrent: seeding ends (and the tarballs go) before the target is unmounted and the post-install action.
  seedStep,
  finishStep,
  postActionStep,
];

/** The steps for a run: init and --network bring links up and run DHCP right after reading the parameters. */
export function stepsFor(mode: 'init' | 'install' | 'plan', network: boolean): Step[] {
  const base = mode === 'plan' ? [...PLAN_STEPS] : [...INSTALL_STEPS];
  if (network) base.splice(1, 0, networkStep);
  return base;
}

/** Steps of `plan`: everything that reads, nothing that writes (pre-install scripts are listed, not run). */
export const PLAN_STEPS: readonly Step[] = [readParametersStep, clientAddressStep, fetchScriptsStep, identifyStep, chooseScriptStep, planDisksStep];

/** Steps before which nothing has been written to any disk. */
const NO_WRITE_STEPS = new Set(PLAN_STEPS.map((s) => s.name).concat(['reporting', 'pre-install', 'network']));

export interface FlowResult {
  ok: boolean;
  /** 0 done, 1 install failed, 2 bad parameters or layout (nothing written). */
  exitCode: 0 | 1 | 2;
  failure?: StepFailure;
}

/** What each disk was left in, for the failure report. */
function diskReport(ctx: Ctx, failedStep: string): string[] {
  const plan = ctx.state.diskPlan as DiskPlan | undefined;
  if (failedStep === 'master') return ['the autoinstall script partitions the disks itself: they are as it left them (its traced commands are in the log)'];
  if (NO_WRITE_STEPS.has(failedStep) || !plan) return ['no disk was written'];
  if (ctx.state.diskState) return describeDiskState(ctx.state.diskState as DiskState);
  return plan.disks.map((d) => `${d.device}: state unknown (the failure came during partitioning)`);
}

/** Runs the steps; on failure emits the fatal report and status -1, releases the target in install mode. */
export async function runFlow(ctx: Ctx, steps: readonly Step[]): Promise<FlowResult> {
  try {
    return await runStepsAndReport(ctx, steps);
  } finally {
    await runCleanups(ctx);
  }
}

async function runStepsAndReport(ctx: Ctx, steps: readonly Step[]): Promise<FlowResult> {
  try {
    await runSteps(ctx, steps);
    return { ok: true, exitCode: 0 };
  } catch (err) {
    const failure = err instanceof StepFailure ? err : new StepFailure('unknown', new SiError('E_INTERNAL', String(err)));
    const e = failure.error;
    const disks = diskReport(ctx, failure.step);
    ctx.report.emit({ type: 'fatal', step: failure.step, message: e.message, details: e.details, disks });
    ctx.report.emit({ type: 'status', status: -1, message: e.message });
    if (ctx.opts.mode === 'install') {
      // Leave no mounts or active arrays behind on a machine that keeps running (a BitTorrent tarball staged on the
      // target's /tmp is held open by the peer: it stops first).
      try {
        await (await import('./bittorrent-session.js')).stopSeeding(ctx);
        await (await import('./finish.js')).releaseTarget(ctx);
      } catch (relErr) {
        ctx.report.warn(`could not release the target after the failure: ${(relErr as Error).message}`);
      }
    }
    const badInput = NO_WRITE_STEPS.has(failure.step) && (e.code === 'E_PARAM' || e.code === 'E_LAYOUT' || e.code === 'E_SCRIPT' || e.code === 'E_SSH');
    return { ok: false, exitCode: badInput ? 2 : 1, failure };
  }
}
