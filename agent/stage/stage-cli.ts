// Wires `si-agent stage` to the command line: options, a reporter on stderr, the runner, the terminal question.

import type { CliCommand } from '../cli-args.js';
import { createRunner } from '../exec/runner.js';
import { Reporter } from '../report/events.js';
import { attachSinks } from '../report/setup.js';
import { runStage, terminalQuestion } from './stage-command.js';
import { stageOptions } from './stage-options.js';

/** Runs stage from the parsed command line; commands and warnings go to stderr, what was done to stdout. */
export async function runStageCommand(cmd: CliCommand): Promise<number> {
  const opts = stageOptions({
    ...(cmd.server !== undefined ? { server: cmd.server } : {}),
    port: cmd.rsyncPort ?? Number(process.env.SI_RSYNC_PORT ?? 873),
    ...(cmd.flavor !== undefined ? { flavor: cmd.flavor } : {}),
    ...(cmd.arch !== undefined ? { arch: cmd.arch } : {}),
    ...(cmd.configureFrom !== undefined ? { configureFrom: cmd.configureFrom } : {}),
    ...(cmd.append !== undefined ? { append: cmd.append } : {}),
    ...(cmd.root !== undefined ? { root: cmd.root } : {}),
    kexec: cmd.kexec,
    yes: cmd.yes,
    undo: cmd.undo,
  });
  const reporter = new Reporter();
  await attachSinks(reporter, { out: process.stderr, tty: false, verbose: cmd.verbose, logPath: cmd.log ?? null, ...(cmd.events ? { eventsPath: cmd.events } : {}) });
  try {
    return await runStage(opts, {
      run: createRunner(reporter),
      report: reporter,
      say: (line) => process.stdout.write(line + '\n'),
      ask: terminalQuestion(),
      isRoot: process.getuid?.() === 0,
    });
  } finally {
    await reporter.close();
  }
}
