// `si-agent stage`: stage the SystemImager installer on this (or an offline) system for its next boot, or kexec into it.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { SiError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import type { Reporter } from '../report/events.js';
import { fetchBootFiles } from './boot-files.js';
import { applyStage, STAGED_INITRD, STAGED_KERNEL } from './stage-apply.js';
import type { StageOptions } from './stage-options.js';
import { describePlan, prepareStage } from './stage-prepare.js';
import { undoRecorded } from './stage-undo.js';
import { openTargetTools } from './target-tools.js';

export interface StageIo {
  run: Runner;
  report: Reporter;
  /** One line for the operator (stdout). */
  say: (line: string) => void;
  /** Asks a yes/no question; undefined means there is nobody to ask. */
  ask?: (question: string) => Promise<boolean>;
  isRoot: boolean;
}

/** Asks on the terminal; undefined when stdin is not one (then --yes is needed). */
export function terminalQuestion(): StageIo['ask'] {
  if (!process.stdin.isTTY) return undefined;
  return async (q) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    try {
      return /^y(es)?$/i.test((await rl.question(`${q} [y/N] `)).trim());
    } finally {
      rl.close();
    }
  };
}

/** Gets the operator's yes, or throws E_USAGE saying nothing was changed. */
async function confirm(io: StageIo, opts: StageOptions, lines: string[]): Promise<void> {
  for (const l of lines) io.say(l);
  if (opts.yes) return;
  if (!io.ask) throw new SiError('E_USAGE', 'stage asks before it changes anything and there is no terminal to ask: give --yes (nothing was changed)');
  if (!(await io.ask('Go ahead?'))) throw new SiError('E_USAGE', 'not confirmed: nothing was changed');
}

/** Undoes the recorded stage of opts.root, running the GRUB generator again when grub.cfg changed since. */
async function undoStage(opts: StageOptions, io: StageIo): Promise<number> {
  const undone = undoRecorded(opts.root);
  if (!undone) {
    io.say(`nothing is staged in ${opts.root}`);
    return 0;
  }
  for (const l of undone.lines) io.say(l);
  if (undone.regenerate && undone.record.generator) {
    const t = await openTargetTools(io.run, io.report, opts.root);
    try {
      await t.run(undone.record.generator);
      io.say(`ran ${undone.record.generator.join(' ')} again (grub.cfg changed since stage)`);
    } finally {
      await t.close();
    }
  }
  return 0;
}

/** Runs stage (or --undo) as the options say; returns the exit code. */
export async function runStage(opts: StageOptions, io: StageIo): Promise<number> {
  if (!io.isRoot) throw new SiError('E_USAGE', 'stage changes /boot and the boot loader: run it as root (nothing was changed)');
  if (opts.undo) {
    if (!opts.yes) await confirm(io, opts, [`undo the stage recorded in ${opts.root}`]);
    return await undoStage(opts, io);
  }
  const plan = await prepareStage(opts, io);
  await confirm(io, opts, describePlan(plan));
  const tmp = mkdtempSync(join(tmpdir(), 'si-stage-'));
  try {
    const fetched = await fetchBootFiles({ run: io.run, report: io.report }, opts.server, opts.port, opts.arch, opts.flavor, tmp);
    io.say(`kernel     sha256 ${fetched.sha256.kernel}`);
    io.say(`initrd.img sha256 ${fetched.sha256['initrd.img']}${plan.localCfg ? ' (staged with local.cfg appended as a cpio archive)' : ''}`);
    if (plan.previous) {
      for (const l of undoRecorded(opts.root)?.lines ?? []) io.say(`previous stage: ${l}`);
    }
    const changes = await applyStage(plan, fetched, io);
    for (const c of changes) io.say(c);
    io.say(`recorded in /boot/systemimager-stage/changes.json: \`si-agent stage --undo${opts.root === '/' ? '' : ` --root ${opts.root}`}\` puts it all back`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (!opts.kexec) {
    io.say(plan.entry?.kind === 'grub' ? 'the next boot starts the installer once; reboot when ready' : 'reboot when ready');
    return 0;
  }
  const cmdline = plan.words.join(' ');
  io.say(`kexec into the installer: ${cmdline}`);
  await io.run('kexec', ['-l', STAGED_KERNEL, `--initrd=${STAGED_INITRD}`, `--command-line=${cmdline}`], { timeout: 120_000 });
  await io.run('sync', [], { timeout: 300_000 });
  await io.run('kexec', ['-e'], { timeout: 60_000 });
  throw new SiError('E_COMMAND', 'kexec -e returned: the installer did not start');
}
