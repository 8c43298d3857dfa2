import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SiEvent, Stamped } from '../../../agent/report/events.js';
import { createMonitorSink, formatMonitorMessage, type MonitorInfo } from '../../../agent/report/monitor.js';

const info: MonitorInfo = { mac: '52:54:00:ab:cd:ef', ip: '10.0.0.7', host: 'node07', cpu: 'Intel(R) Xeon(R) (2400.000 MHz)', ncpus: 4, kernel: '6.1.0-18-amd64', mem: 8040000, os: 'rocky9', tmpfs: 12, time: 42 };
const HEAD = 'mac=52.54.00.AB.CD.EF:ip=10.0.0.7:host=node07:cpu=Intel(R) Xeon(R) (2400.000 MHz):ncpus=4:kernel=6.1.0-18-amd64:mem=8040000:os=rocky9:tmpfs=12%:time=42';
const at = (e: SiEvent, ts: number): Stamped => ({ ...e, ts }) as Stamped;
const image = (percent: number, speedKBs = 2048.456): SiEvent => ({ type: 'progress', phase: 'image', percent, bytesDone: percent, bytesTotal: 100, speedKBs, etaS: 1 });

/** A monitor server on 127.0.0.1 that records one line per connection, as si_monitor reads them. */
async function startMonitor(): Promise<{ server: Server; port: number; lines: string[]; connections: () => number; waitFor: (n: number) => Promise<void> }> {
  const lines: string[] = [];
  let connections = 0;
  const waiters: Array<() => void> = [];
  const server = createServer((s) => {
    connections++;
    let buf = '';
    s.on('data', (d) => (buf += d.toString()));
    s.on('end', () => {
      lines.push(...buf.split('\n').filter((l) => l !== ''));
      s.end();
      waiters.splice(0).forEach((w) => w());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const waitFor = async (n: number): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (lines.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${lines.length} of ${n} lines arrived: ${lines.join(' | ')}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
  };
  return { server, port, lines, connections: () => connections, waitFor };
}

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

describe('formatMonitorMessage', () => {
  it('puts the fields in 4.3 order, first_timestamp=on only on the first message', () => {
    expect(formatMonitorMessage(info, 0, 0, true)).toBe(`${HEAD}:status=0:first_timestamp=on:speed=0`);
    expect(formatMonitorMessage(info, 42, 2048.456, false)).toBe(`${HEAD}:status=42:speed=2048.46`);
    expect(formatMonitorMessage(info, -1, Number.NaN, false)).toBe(`${HEAD}:status=-1:speed=0`);
  });

  it('sanitises values so a colon, equals sign or newline cannot break the line', () => {
    const s = formatMonitorMessage({ ...info, host: 'evil:status=100\nx', os: 'img=1', ip: 'fe80::1' }, 5, 0, false);
    expect(s).not.toContain('\n');
    expect(s).toContain(':host=evil.status_100 x:');
    expect(s).toContain(':os=img_1:');
    expect(s).toContain(':ip=fe80..1:');
    expect(s.split(':').map((f) => f.split('=')[0])).toEqual(['mac', 'ip', 'host', 'cpu', 'ncpus', 'kernel', 'mem', 'os', 'tmpfs', 'time', 'status', 'speed']);
  });

  it('leaves unknown values empty', () => {
    const s = formatMonitorMessage({ ...info, ncpus: null, mem: null, tmpfs: null, time: null }, 0, 0, false);
    expect(s).toContain(':ncpus=:kernel=6.1.0-18-amd64:mem=:os=rocky9:tmpfs=:time=:status=0:');
  });
});

describe('createMonitorSink', () => {
  it('sends statuses and throttled image progress, one connection per line, in order', async () => {
    const m = await startMonitor();
    servers.push(m.server);
    const mon = createMonitorSink({ server: '127.0.0.1', port: m.port, info: () => info, intervalMs: 1000 });
    // Each line is awaited before the next event: a newer progress figure would otherwise
    // replace one still queued behind a slow send (by design).
    mon.sink(at({ type: 'status', status: 0 }, 0));
    mon.sink(at({ type: 'log', level: 'info', message: 'ignored' }, 1));
    mon.sink(at({ ...image(0), phase: 'scripts' } as SiEvent, 2)); // not the image: ignored
    await m.waitFor(1);
    mon.sink(at(image(0.2), 100)); // first progress: sent, clamped to 1
    await m.waitFor(2);
    mon.sink(at(image(30), 600)); // within the interval: skipped
    mon.sink(at(image(55.7), 1100)); // sent
    await m.waitFor(3);
    mon.sink(at(image(100), 1500)); // skipped (interval)
    mon.sink(at({ type: 'status', status: 101 }, 1600));
    await m.waitFor(4);
    mon.sink(at(image(100), 5000)); // after finalizing: ignored
    mon.sink(at({ type: 'status', status: 100 }, 5100));
    mon.sink(at({ type: 'status', status: -1 }, 5200));
    await mon.close();
    expect(m.lines).toEqual([
      `${HEAD}:status=0:first_timestamp=on:speed=0`,
      `${HEAD}:status=1:speed=2048.46`,
      `${HEAD}:status=55:speed=2048.46`,
      `${HEAD}:status=101:speed=0`,
      `${HEAD}:status=100:speed=0`,
      `${HEAD}:status=-1:speed=0`,
    ]);
    expect(m.connections()).toBe(6);
  });

  it('on close drops progress still queued but delivers every status', async () => {
    const m = await startMonitor();
    servers.push(m.server);
    const mon = createMonitorSink({ server: '127.0.0.1', port: m.port, info: () => info, intervalMs: 10 });
    mon.sink(at({ type: 'status', status: 0 }, 0));
    for (let i = 1; i <= 20; i++) mon.sink(at(image(i * 4), i * 100));
    mon.sink(at({ type: 'status', status: 100 }, 5000));
    await mon.close();
    const statuses = m.lines.map((l) => /:status=(-?\d+):/.exec(l)![1]);
    expect(statuses[0]).toBe('0');
    expect(statuses.at(-1)).toBe('100');
    expect(statuses.length).toBeLessThanOrEqual(4); // 0, at most one progress in flight, then 100
  });

  it('retries a refused message and delivers it once the server is up', async () => {
    const m = await startMonitor();
    const port = m.port;
    await new Promise((r) => m.server.close(r)); // down for now
    const mon = createMonitorSink({ server: '127.0.0.1', port, info: () => info, retries: 5, retryDelayMs: 100 });
    mon.sink(at({ type: 'status', status: 104 }, 0));
    await new Promise((r) => setTimeout(r, 120));
    const lines: string[] = [];
    const again = createServer((s) => {
      s.on('data', (d) => lines.push(d.toString()));
      s.on('end', () => s.end());
    });
    servers.push(again);
    await new Promise<void>((r) => again.listen(port, '127.0.0.1', r));
    await mon.close();
    expect(lines.join('')).toBe(`${HEAD}:status=104:first_timestamp=on:speed=0\n`);
  });

  it('does not throw when the server is down, says so once, keeps the messages, and closes in bounded time', async () => {
    const m = await startMonitor();
    const port = m.port;
    await new Promise((r) => m.server.close(r));
    const errors: string[] = [];
    const mon = createMonitorSink({ server: '127.0.0.1', port, info: () => info, retries: 2, retryDelayMs: 20, onError: (e) => errors.push(e) });
    expect(() => {
      mon.sink(at({ type: 'status', status: 0 }, 0));
      mon.sink(at(image(50), 1));
    }).not.toThrow();
    for (const t0 = Date.now(); errors.length < 1 && Date.now() - t0 < 3000; ) await new Promise((r) => setTimeout(r, 20));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^monitor 127\.0\.0\.1:\d+ not answering \(.*ECONNREFUSED.*\): messages are kept and sent when it answers$/);
    mon.sink(at({ type: 'status', status: -1 }, 2));
    const t0 = Date.now();
    await mon.close();
    expect(Date.now() - t0).toBeLessThan(4000);
    // What could not be delivered is named at the end: the start and the failure, not the superseded progress.
    expect(errors.at(-1)).toMatch(/: 2 message\(s\) not delivered before the end: mac=.*status=0:first_timestamp=on.* \| mac=.*status=-1:/);
  });

  it('keeps every status while the monitor is down and delivers them in order when it comes back', async () => {
    const m = await startMonitor();
    const port = m.port;
    await new Promise((r) => m.server.close(r));
    const errors: string[] = [];
    const mon = createMonitorSink({ server: '127.0.0.1', port, info: () => info, retries: 1, retryDelayMs: 20, retryCapMs: 100, intervalMs: 0, onError: (e) => errors.push(e) });
    mon.sink(at({ type: 'status', status: 0 }, 0));
    for (let i = 1; i <= 5; i++) mon.sink(at(image(i * 10), i));
    mon.sink(at({ type: 'status', status: 101 }, 10));
    for (const t0 = Date.now(); errors.length < 1 && Date.now() - t0 < 3000; ) await new Promise((r) => setTimeout(r, 20));
    const lines: string[] = [];
    const again = createServer((s) => {
      s.on('data', (d) => lines.push(...d.toString().split('\n').filter(Boolean)));
      s.on('end', () => s.end());
    });
    servers.push(again);
    await new Promise<void>((r) => again.listen(port, '127.0.0.1', r));
    for (const t0 = Date.now(); lines.length < 3 && Date.now() - t0 < 5000; ) await new Promise((r) => setTimeout(r, 20));
    mon.sink(at({ type: 'status', status: 100 }, 20));
    await mon.close();
    // Start, the latest progress figure only, then the statuses in order: nothing lost, nothing duplicated.
    expect(lines.map((l) => /:status=(-?\d+):/.exec(l)![1])).toEqual(['0', '50', '101', '100']);
    expect(errors.some((e) => /answers again/.test(e))).toBe(true);
  });

  it('close() returns at its deadline while retries are still pending, even if info() throws', async () => {
    // Port 1 on loopback refuses; 50 retries with doubling backoff would take far longer than the deadline.
    const mon = createMonitorSink({ server: '127.0.0.1', port: 1, info: () => { throw new Error('no /proc'); }, retries: 50, retryDelayMs: 50, closeTimeoutMs: 300 });
    mon.sink(at({ type: 'status', status: -1 }, 0));
    const t0 = Date.now();
    await mon.close();
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(1500);
  });
});
