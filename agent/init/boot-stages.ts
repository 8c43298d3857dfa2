// PID 1 loads the kernel modules while the install worker starts; the worker waits only where a step needs them.
//
// Stages, in order, each a file PID 1 writes under /run/si-agent (SI_RUN for tests) once it is reached:
// - network: the NIC drivers are loaded (those of the PCI network controllers and what their buses asked for), while
//   the rest may still load (the network bring-up; a NIC on another bus comes with "modules");
// - modules: the drivers the hardware asks for (by modalias) and the always-needed modules are loaded, so the NICs
//   and the disks their drivers found at once are there (network bring-up, local.cfg search);
// - devices: the block device list has settled (the disk plan).
// Outside PID 1 (install, plan, stage on a running system) nothing waits.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Reporter } from '../report/events.js';

export type BootStage = 'network' | 'modules' | 'devices';

const stageFile = (stage: BootStage, env: NodeJS.ProcessEnv = process.env) => join(env.SI_RUN ?? '/run', 'si-agent', `boot-${stage}.json`);

/** PID 1: says a stage is reached (written whole, then renamed, so a reader never sees half of it). */
export function markBootStage(stage: BootStage, facts: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): void {
  const file = stageFile(stage, env);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify({ stage, ...facts })}\n`);
  renameSync(`${file}.tmp`, file);
}

/** What PID 1 wrote with the stage, or undefined before it is reached. */
export function bootStageFacts(stage: BootStage, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(stageFile(stage, env), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * The worker under PID 1 (SI_PID1=1): waits until PID 1 has reached the stage, polling every 25 ms. After
 * timeoutMs it goes on with a warning: a PID 1 that never marks the stage must not hold the install forever.
 * Resolves with the seconds waited; rejects with the signal's reason once it aborts.
 */
export async function waitForBootStage(stage: BootStage, report: Reporter, timeoutMs = 120_000, env: NodeJS.ProcessEnv = process.env, signal?: AbortSignal): Promise<number> {
  if (env.SI_PID1 !== '1') return 0;
  const started = Date.now();
  const file = stageFile(stage, env);
  while (!existsSync(file)) {
    signal?.throwIfAborted();
    if (Date.now() - started >= timeoutMs) {
      report.warn(`boot: PID 1 did not report "${stage}" within ${Math.round(timeoutMs / 1000)} s: going on without it`);
      break;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const waited = (Date.now() - started) / 1000;
  if (waited >= 0.05) report.info(`boot: waited ${waited.toFixed(2)} s for PID 1's "${stage}"`);
  return waited;
}
