// Runs an ordered list of steps, emitting step start/end events; a failure names its step.

import { SiError, withContext } from '../errors.js';
import type { Ctx, Step } from './context.js';

/** An error that escaped a step, with the step's name attached. */
export class StepFailure extends Error {
  readonly step: string;
  readonly error: SiError;
  constructor(step: string, error: SiError) {
    super(`${step}: ${error.message}`, { cause: error });
    this.name = 'StepFailure';
    this.step = step;
    this.error = error;
  }
}

/** Runs steps in order; stops at the first failure and throws a StepFailure. */
export async function runSteps(ctx: Ctx, steps: readonly Step[]): Promise<void> {
  // Steps with a `when` that does not hold are left out; the plan is told again when a step changes which apply.
  const applying = () => steps.filter((s) => !s.when || s.when(ctx)).map((s) => s.name).join(' ');
  const announce = () => ctx.report.emit({ type: 'steps-planned', steps: steps.filter((s) => !s.when || s.when(ctx)).map((s) => ({ step: s.name, title: s.title })) });
  let announced = applying();
  announce();
  for (const step of steps) {
    const now = applying();
    if (now !== announced) {
      announced = now;
      announce();
    }
    if (step.when && !step.when(ctx)) continue;
    if (ctx.signal.aborted) throw new StepFailure(step.name, new SiError('E_INTERNAL', 'aborted'));
    const started = Date.now();
    ctx.report.emit({ type: 'step-start', step: step.name, title: step.title });
    try {
      await step.run(ctx);
    } catch (err) {
      const e = err instanceof SiError ? err : withContext(err, step.title);
      ctx.report.emit({ type: 'step-end', step: step.name, ok: false, ms: Date.now() - started, error: e.message });
      throw new StepFailure(step.name, e);
    }
    ctx.report.emit({ type: 'step-end', step: step.name, ok: true, ms: Date.now() - started });
  }
}
