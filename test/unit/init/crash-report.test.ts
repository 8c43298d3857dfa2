import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deathSignal, formatDeathMessage, loadMonitorContact, reportWorkerDeath, saveMonitorContact, type MonitorContact } from '../../../agent/init/crash-report.js';

const dir = mkdtempSync(join(tmpdir(), 'si-crash-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const contact = (port: number): MonitorContact => ({
  server: '127.0.0.1', port,
  info: { mac: '52:54:00:12:34:56', ip: '10.0.2.15', host: 'node001', cpu: 'QEMU', ncpus: 1, kernel: '6.1.0', mem: 1000, os: 'fixture-image', tmpfs: 3, time: 20 },
});

describe('PID 1 reports a worker that died from a signal', () => {
  it('tells a signal death from a plain exit (tini reports 128+N)', () => {
    expect(deathSignal(137, null)).toBe('SIGKILL');
    expect(deathSignal(null, 'SIGSEGV')).toBe('SIGSEGV');
    expect(deathSignal(143, null)).toBe('SIGTERM');
    for (const code of [0, 1, 2, 127, 128, 255]) expect(deathSignal(code, null)).toBeUndefined();
  });

  it('keeps the contact in a file PID 1 reads back; a missing or broken file is no contact', () => {
    const path = join(dir, 'monitor.json');
    expect(loadMonitorContact(path)).toBeUndefined();
    saveMonitorContact(contact(8181), path);
    expect(loadMonitorContact(path)).toEqual(contact(8181));
    saveMonitorContact({ server: 'x' } as unknown as MonitorContact, path);
    expect(loadMonitorContact(path)).toBeUndefined();
  });

  it('the line carries the worker identity, status -1 and the time as of now', () => {
    expect(formatDeathMessage(contact(1), { time: 95, tmpfs: 4 })).toBe(
      'mac=52.54.00.12.34.56:ip=10.0.2.15:host=node001:cpu=QEMU:ncpus=1:kernel=6.1.0:mem=1000:os=fixture-image:tmpfs=4%:time=95:status=-1:speed=0',
    );
  });

  it('sends it to the monitor; a monitor that is down is a bounded failure', async () => {
    const lines: string[] = [];
    const srv = createServer((s) => s.on('data', (d) => lines.push(d.toString().trim())).on('end', () => s.end()));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    expect((await reportWorkerDeath(contact(port))).ok).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^mac=52\.54\.00\.12\.34\.56:.*:host=node001:.*:os=fixture-image:.*:status=-1:speed=0$/);
    await new Promise<void>((r) => srv.close(() => r()));
    const down = await reportWorkerDeath(contact(port), 2);
    expect(down.ok).toBe(false);
    expect(down.error).toMatch(/ECONNREFUSED/);
  });
});
