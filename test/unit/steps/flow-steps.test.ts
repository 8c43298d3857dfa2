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
