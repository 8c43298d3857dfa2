import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startConsoleServer } from '../../../agent/report/console-server.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'si-console-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves once the text received on the socket satisfies pred. */
function until(get: () => string, pred: (s: string) => boolean, ms = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = (): void => {
      if (pred(get())) resolve();
      else if (Date.now() - t0 > ms) reject(new Error(`timed out; got: ${JSON.stringify(get())}`));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

describe('startConsoleServer', () => {
  it('sends the whole log so far, then follows new lines, to each viewer', async () => {
    const log = join(dir, 'si.log');
    writeFileSync(log, 'line 1\nline 2\n');
    const srv = await startConsoleServer({ port: 0, host: '127.0.0.1', logPath: log, pollMs: 20 });
    expect(srv.port).toBeGreaterThan(0);
    const received = ['', ''];
    const viewers = [0, 1].map((i) => {
      const s = connect(srv.port, '127.0.0.1');
      s.on('data', (d) => (received[i] += d.toString()));
      return s;
    });
    await until(() => received[0]!, (s) => s === 'line 1\nline 2\n');
    appendFileSync(log, 'line 3\n');
    await until(() => received[0]!, (s) => s.endsWith('line 3\n'));
    await until(() => received[1]!, (s) => s.endsWith('line 3\n'));
    expect(received).toEqual(['line 1\nline 2\nline 3\n', 'line 1\nline 2\nline 3\n']);
    const late = connect(srv.port, '127.0.0.1');
    let lateText = '';
    late.on('data', (d) => (lateText += d.toString()));
    await until(() => lateText, (s) => s === 'line 1\nline 2\nline 3\n');
    const ended = new Promise((r) => late.on('end', r));
    await srv.close();
    await ended;
    for (const v of [...viewers, late]) v.destroy();
  });

  it('waits for a log that does not exist yet', async () => {
    const log = join(dir, 'later.log');
    const srv = await startConsoleServer({ port: 0, host: '127.0.0.1', logPath: log, pollMs: 20 });
    let text = '';
    const s = connect(srv.port, '127.0.0.1');
    s.on('data', (d) => (text += d.toString()));
    await new Promise((r) => setTimeout(r, 60));
    writeFileSync(log, 'hello\n');
    await until(() => text, (t) => t === 'hello\n');
    s.destroy();
    await srv.close();
  });

  it('rejects when the port is taken', async () => {
    const a = await startConsoleServer({ port: 0, host: '127.0.0.1', logPath: join(dir, 'x') });
    await expect(startConsoleServer({ port: a.port, host: '127.0.0.1', logPath: join(dir, 'x') })).rejects.toThrow(/EADDRINUSE/);
    await a.close();
  });
});
