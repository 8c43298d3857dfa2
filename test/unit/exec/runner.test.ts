// Unit: the one command runner spawns argv arrays without a shell, logs them, and explains failures and timeouts.

import { describe, expect, it } from 'vitest';
import { createRunner } from '../../../agent/exec/runner.js';
import { CommandError } from '../../../agent/errors.js';
import { Reporter, type Stamped } from '../../../agent/report/events.js';

function collecting() {
  const reporter = new Reporter();
  const events: Stamped[] = [];
  reporter.addSink((e) => events.push(e));
  return { run: createRunner(reporter), events };
}

describe('runner', () => {
  it('passes arguments verbatim: shell metacharacters are data', async () => {
    const { run, events } = collecting();
    const r = await run('printf', ['%s|', '$(echo no)', 'a b;c', '`x`']);
    expect(r.stdout).toBe('$(echo no)|a b;c|`x`|');
    expect(events.find((e) => e.type === 'command')).toMatchObject({ argv: ['printf', '%s|', '$(echo no)', 'a b;c', '`x`'] });
    expect(events.find((e) => e.type === 'command-end')).toMatchObject({ code: 0 });
  });

  it('a non-zero exit is a CommandError naming tool, code, argv and the last output lines', async () => {
    const { run } = collecting();
    const err = await run('sh', ['-c', 'echo one >&2; echo two >&2; exit 3']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    const ce = err as CommandError;
    expect(ce.message).toBe(`sh failed with exit code 3: sh -c 'echo one >&2; echo two >&2; exit 3'`);
    expect(ce.details).toEqual(['one', 'two']);
    expect(ce.code).toBe('E_COMMAND');
  });

  it('allowFail returns the result instead of throwing', async () => {
    const { run } = collecting();
    const r = await run('sh', ['-c', 'exit 5'], { allowFail: true });
    expect(r.code).toBe(5);
  });

  it('a timeout kills the whole process group and says so', async () => {
    const { run } = collecting();
    const started = Date.now();
    const err = await run('sh', ['-c', 'sleep 30 & sleep 30; wait'], { timeout: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).code).toBe('E_TIMEOUT');
    expect((err as CommandError).message).toMatch(/^sh timed out/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a missing program is a clear error, not a crash', async () => {
    const { run } = collecting();
    const err = await run('/nonexistent/tool', ['x']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).message).toBe('tool could not be started (not found): /nonexistent/tool x');
    expect((err as CommandError).details.join('\n')).toMatch(/cannot run \/nonexistent\/tool/);
  });

  it('feeds stdin and streams output to callbacks', async () => {
    const { run } = collecting();
    const chunks: string[] = [];
    const r = await run('cat', [], { input: 'hello\n', onStdout: (c) => chunks.push(c) });
    expect(r.stdout).toBe('hello\n');
    expect(chunks.join('')).toBe('hello\n');
  });
});
