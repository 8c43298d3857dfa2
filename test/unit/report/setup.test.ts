import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Reporter } from '../../../agent/report/events.js';
import type { MonitorInfo } from '../../../agent/report/monitor.js';
import { attachSinks } from '../../../agent/report/setup.js';

const info: MonitorInfo = { mac: '52:54:00:00:00:01', ip: '127.0.0.1', host: 'node01', cpu: 'x', ncpus: 1, kernel: 'k', mem: 1, os: 'img', tmpfs: 1, time: 1 };

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'si-setup-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('attachSinks', () => {
  it('wires console, log file, events file, syslog and monitor; reporter.close() flushes them all', async () => {
    const monitorLines: string[] = [];
    const monitor = createServer((s) => {
      let buf = '';
      s.on('data', (d) => (buf += d.toString()));
      s.on('end', () => {
        monitorLines.push(buf.trim());
        s.end();
      });
    });
    await new Promise<void>((r) => monitor.listen(0, '127.0.0.1', r));
    const syslog = createSocket('udp4');
    const datagrams: string[] = [];
    syslog.on('message', (m) => datagrams.push(m.toString()));
    await new Promise<void>((r) => syslog.bind(0, '127.0.0.1', r));

    const out = new PassThrough();
    let console = '';
    out.on('data', (d: Buffer) => (console += d.toString()));
    const reporter = new Reporter();
    const detach = await attachSinks(reporter, {
      out,
      tty: false,
      logPath: join(dir, 'si.log'),
      eventsPath: join(dir, 'events.jsonl'),
      logServer: '127.0.0.1',
      logServerPort: syslog.address().port,
      hostname: 'node01',
      monitorServer: '127.0.0.1',
      monitorPort: (monitor.address() as { port: number }).port,
      monitorInfo: () => info,
    });
    reporter.emit({ type: 'status', status: 0 });
    reporter.emit({ type: 'step-start', step: 'part', title: 'Partitioning disks' });
    reporter.warn('something odd');
    reporter.emit({ type: 'status', status: -1 });
    await reporter.close();
    await detach(); // second close is a no-op
    reporter.info('after close'); // sinks were removed: goes nowhere, no throw
    await new Promise((r) => setTimeout(r, 50)); // let loopback datagrams land

    expect(console).toContain('==> [1] Partitioning disks\n');
    expect(console).toContain('WARNING: something odd\n');
    expect(console).not.toContain('after close');
    const log = readFileSync(join(dir, 'si.log'), 'utf8');
    expect(log).toMatch(/Z INFO ==> Partitioning disks \(part\)\n/);
    expect(log).toMatch(/Z WARN something odd\n/);
    const events = readFileSync(join(dir, 'events.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(events.map((e) => e.type)).toEqual(['status', 'step-start', 'log', 'status']);
    expect(monitorLines.map((l) => /:status=(-?\d+)/.exec(l)![1])).toEqual(['0', '-1']);
    expect(datagrams.some((d) => d.endsWith('node01 si-agent[' + process.pid + ']: something odd'))).toBe(true);

    syslog.close();
    await new Promise((r) => monitor.close(r));
  });

  it('attaches only the console and the log file when nothing else is configured', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const reporter = new Reporter();
    const close = await attachSinks(reporter, { out, tty: false, logPath: join(dir, 'a', 'si.log'), eventsPath: '' });
    reporter.info('hello');
    await close();
    expect(text).toBe('    hello\n');
    expect(readFileSync(join(dir, 'a', 'si.log'), 'utf8')).toMatch(/INFO hello\n$/);
    expect(existsSync(join(dir, 'events.jsonl'))).toBe(false);
  });
});
