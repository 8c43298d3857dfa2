import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bootStageFacts, markBootStage, waitForBootStage } from '../../../agent/init/boot-stages.js';
import { Reporter } from '../../../agent/report/events.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function lines(r: Reporter): string[] {
  const out: string[] = [];
  r.addSink((e) => {
    if ('message' in e && typeof e.message === 'string') out.push(e.message);
  });
  return out;
}

describe('boot stages between PID 1 and its worker', () => {
  it('outside PID 1 nothing waits', async () => {
    const run = mkdtempSync(join(tmpdir(), 'si-run-'));
    dirs.push(run);
    expect(await waitForBootStage('modules', new Reporter(), 60_000, { SI_RUN: run })).toBe(0);
  });

  it('the worker waits until PID 1 marks the stage, and reads what PID 1 wrote with it', async () => {
    const run = mkdtempSync(join(tmpdir(), 'si-run-'));
    dirs.push(run);
    const env = { SI_RUN: run, SI_PID1: '1' };
    const r = new Reporter();
    const said = lines(r);
    setTimeout(() => markBootStage('devices', { devices: ['sr0', 'vda'] }, env), 200);
    expect(bootStageFacts('devices', env)).toBeUndefined();
    await waitForBootStage('devices', r, 60_000, env);
    // Resolved only once the stage was there.
    expect(bootStageFacts('devices', env)).toEqual({ stage: 'devices', devices: ['sr0', 'vda'] });
    expect(bootStageFacts('modules', env)).toBeUndefined();
    expect(said.some((l) => /waited .* for PID 1's "devices"/.test(l))).toBe(true);
  });

  it('a stage never marked holds the worker only until its time limit, with a warning', async () => {
    const run = mkdtempSync(join(tmpdir(), 'si-run-'));
    dirs.push(run);
    const r = new Reporter();
    const said = lines(r);
    await waitForBootStage('modules', r, 100, { SI_RUN: run, SI_PID1: '1' });
    expect(said.some((l) => /did not report "modules"/.test(l))).toBe(true);
  });
});
