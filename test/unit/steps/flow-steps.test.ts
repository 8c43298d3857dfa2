// Unit: the install flow's steps whose code loads on first run (agent/steps/flow.ts lazyStep) carry the names and
// titles of the steps they load, so progress, events and the monitor say the same as the step itself.

import { describe, expect, it } from 'vitest';
import { INSTALL_STEPS, PLAN_STEPS } from '../../../agent/steps/flow.js';
import { planDisksStep, partitionStep } from '../../../agent/steps/disks.js';
import { imageStep, overridesStep } from '../../../agent/steps/image.js';
import { configureStep } from '../../../agent/steps/configure.js';
import { finalizeStep, finishStep, postActionStep } from '../../../agent/steps/finish.js';
import { seedStep } from '../../../agent/steps/bittorrent-session.js';

describe('steps loaded on first run', () => {
  it('name and title as the steps themselves say', () => {
    const real = [planDisksStep, partitionStep, imageStep, overridesStep, finalizeStep, configureStep, seedStep, finishStep, postActionStep];
    const listed = new Map([...INSTALL_STEPS, ...PLAN_STEPS].map((s) => [s.name, s.title]));
    for (const step of real) expect(listed.get(step.name), step.name).toBe(step.title);
  });
});

describe('steps that apply only in one script mode', () => {
  it('run mode leaves the native install out and runs the master; the plan is told again when that changes', async () => {
    const { runSteps } = await import('../../../agent/steps/run-steps.js');
    const { Reporter } = await import('../../../agent/report/events.js');
    const { newFlowState } = await import('../../../agent/steps/context.js');
    const report = new Reporter();
    const planned: string[][] = [];
    report.addSink((e) => {
      if (e.type === 'steps-planned') planned.push(e.steps.map((s) => s.step));
    });
    const ran: string[] = [];
    const step = (name: string, when?: (c: { state: { scriptMode?: string } }) => boolean, run?: (c: { state: { scriptMode?: string } }) => void) => ({ name, title: name, when, run: async (c: never) => { ran.push(name); run?.(c); } });
    const steps = [
      step('choose-script', undefined, (c) => (c.state.scriptMode = 'run')),
      step('master', (c) => c.state.scriptMode === 'run'),
      step('partition', (c) => c.state.scriptMode !== 'run'),
      step('post-action'),
    ];
    const ctx = { report, state: newFlowState(), signal: new AbortController().signal } as never;
    await runSteps(ctx, steps as never);
    expect(ran).toEqual(['choose-script', 'master', 'post-action']);
    expect(planned).toEqual([['choose-script', 'partition', 'post-action'], ['choose-script', 'master', 'post-action']]);
    // The master step and the native steps are in the install flow, each with its condition.
    const names = INSTALL_STEPS.map((s) => s.name);
    expect(names.indexOf('master')).toBe(names.indexOf('choose-script') + 1);
    const inRun = { state: { ...newFlowState(), scriptMode: 'run' } } as never;
    expect(INSTALL_STEPS.filter((s) => !s.when || s.when(inRun)).map((s) => s.name)).toEqual(['read-parameters', 'client-address', 'reporting', 'fetch-scripts', 'identify', 'pre-install', 'choose-script', 'master', 'post-action']);
  });
});
