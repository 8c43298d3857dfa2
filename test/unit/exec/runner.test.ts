// Unit: the one command runner spawns argv arrays without a shell, logs them, and explains failures and timeouts.

import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

  it('a quiet run logs its command at debug level and marks its end quiet', async () => {
    const { run, events } = collecting();
    await run('sh', ['-c', 'exit 4'], { quiet: true, allowFail: true });
    expect(events.find((e) => e.type === 'command')).toBeUndefined();
    expect(events.find((e) => e.type === 'log')).toMatchObject({ level: 'debug', message: 'run: sh -c exit 4' });
    expect(events.find((e) => e.type === 'command-end')).toMatchObject({ code: 4, quiet: true });
    await run('sh', ['-c', 'exit 4'], { allowFail: true });
    expect(events.filter((e) => e.type === 'command-end').at(-1)).not.toHaveProperty('quiet');
  });

  it('feeds stdin and streams output to callbacks', async () => {
    const { run } = collecting();
    const chunks: string[] = [];
    const r = await run('cat', [], { input: 'hello\n', onStdout: (c) => chunks.push(c) });
    expect(r.stdout).toBe('hello\n');
    expect(chunks.join('')).toBe('hello\n');
  });

  it('stdoutPoll: the newest output every few ms and all of its end, from a file nobody sees, the child never waiting', async () => {
    const { run } = collecting();
    const calls: Array<{ text: string; final: boolean }> = [];
    const before = new Set(readdirSync(tmpdir()));
    // About 2.3 MB in lines, slowly enough that several reads come in between: the file starts over past 1 MiB.
    const script = 'for i in $(seq 1 6); do seq $(( (i - 1) * 50000 + 1 )) $(( i * 50000 )); sleep 0.1; done; echo end';
    const r = await run('sh', ['-c', script], { stdoutPoll: { everyMs: 40, tailBytes: 64, onTail: (text, final) => calls.push({ text, final }) } });
    const final = calls.at(-1)!;
    expect(final.final).toBe(true);
    expect(calls.filter((c) => c.final)).toHaveLength(1);
    expect(calls.length).toBeGreaterThan(2);
    // Each read hands over at most tailBytes, from the end.
    for (const c of calls.slice(0, -1)) expect(Buffer.byteLength(c.text)).toBeLessThanOrEqual(64);
    expect(final.text.endsWith('300000\nend\n')).toBe(true);
    // The file started over: the end is not the whole 2.3 MB.
    expect(final.text.length).toBeLessThan(1024 * 1024);
    expect(final.text.startsWith('1\n')).toBe(false);
    expect(r.stdout).toBe(final.text);
    // Every number a read saw is one the command printed, in order: reads go forward. seq writes to the file in blocks,
    // so a read may end inside a line: the last whole line of each read is compared.
    const lastWhole = (t: string) => t.slice(0, t.lastIndexOf('\n')).split('\n').at(-1)!;
    const lastNumbers = calls.slice(0, -1).map((c) => lastWhole(c.text)).filter((l) => /^\d+$/.test(l)).map(Number);
    for (let i = 1; i < lastNumbers.length; i++) expect(lastNumbers[i]!).toBeGreaterThanOrEqual(lastNumbers[i - 1]!);
    // Nothing left behind in the temporary directory.
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('si-agent-out-') && !before.has(f))).toEqual([]);
  });

  it('stdoutPoll: a program that cannot start still ends in a clear error, the file closed', async () => {
    const { run } = collecting();
    const calls: string[] = [];
    const fds = readdirSync('/proc/self/fd').length;
    const err = await run('/nonexistent/tool', [], { stdoutPoll: { everyMs: 10, onTail: (t) => calls.push(t) } }).catch((e: unknown) => e);
    expect((err as CommandError).message).toBe('tool could not be started (not found): /nonexistent/tool');
    // Node closes the child's pipes a moment after the error; then nothing of this run is open.
    await new Promise((r) => setTimeout(r, 50));
    expect(readdirSync('/proc/self/fd').length).toBe(fds);
  });
});
