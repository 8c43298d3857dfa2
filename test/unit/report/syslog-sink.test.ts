import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import type { SiEvent, Stamped } from '../../../agent/report/events.js';
import { createSyslogSink, formatSyslog, severityOf } from '../../../agent/report/syslog-sink.js';

const at = (e: SiEvent): Stamped => ({ ...e, ts: Date.now() }) as Stamped;
const base = { facility: 1, severity: 6, date: new Date(2026, 10, 5, 9, 3, 7), hostname: 'node01', tag: 'si-agent', pid: 1, message: 'hello' };

describe('formatSyslog', () => {
  it('computes PRI = facility * 8 + severity and pads the day with a space', () => {
    expect(formatSyslog(base)).toBe('<14>Nov  5 09:03:07 node01 si-agent[1]: hello');
    expect(formatSyslog({ ...base, facility: 16, severity: 3 })).toMatch(/^<131>/);
    expect(formatSyslog({ ...base, facility: 0, severity: 0 })).toMatch(/^<0>/);
    expect(formatSyslog({ ...base, date: new Date(2026, 0, 25, 23, 59, 59) })).toContain('>Jan 25 23:59:59 ');
  });

  it('keeps the message on one line, the host name without spaces, and the packet within 1024 bytes', () => {
    const s = formatSyslog({ ...base, hostname: 'bad host', message: `a\nb\r\nc ${'é'.repeat(2000)}` });
    expect(s).toContain(' bad-host si-agent[1]: a b c ');
    expect(s).not.toMatch(/[\r\n]/);
    expect(Buffer.byteLength(s)).toBeLessThanOrEqual(1024);
  });

  it('maps events to severities', () => {
    expect(severityOf(at({ type: 'fatal', step: null, message: 'x', details: [], disks: [] }))).toBe(2);
    expect(severityOf(at({ type: 'log', level: 'error', message: 'x' }))).toBe(3);
    expect(severityOf(at({ type: 'retry', what: 'x', attempt: 1, delayMs: 1, error: 'e' }))).toBe(4);
    expect(severityOf(at({ type: 'step-start', step: 'x', title: 'X' }))).toBe(6);
    expect(severityOf(at({ type: 'log', level: 'debug', message: 'x' }))).toBe(7);
  });
});

describe('createSyslogSink', () => {
  it('delivers RFC 3164 datagrams to a UDP receiver on 127.0.0.1', async () => {
    const rx = createSocket('udp4');
    const got: string[] = [];
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
    const port = rx.address().port;
    const arrived = new Promise<void>((resolve) => {
      rx.on('message', (m) => {
        got.push(m.toString());
        if (got.length === 3) resolve();
      });
    });
    const s = createSyslogSink({ host: '127.0.0.1', port, hostname: 'node07', tag: 'systemimager', facility: 16 });
    s.sink(at({ type: 'log', level: 'warn', message: 'disk is slow' }));
    s.sink(at({ type: 'fatal', step: 'image', message: 'rsync failed', details: [], disks: [] }));
    await arrived;
    await s.close();
    rx.close();
    expect(got[0]).toMatch(/^<132>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d node07 systemimager\[\d+\]: disk is slow$/);
    expect(got[1]).toMatch(/^<130>.* INSTALL FAILED in step "image"$/);
    expect(got[2]).toMatch(/^<130>.*\]: {5}rsync failed$/);
  });

  it('never throws when the host name does not resolve, and closes', async () => {
    const s = createSyslogSink({ host: 'no-such-host.invalid', port: 514, hostname: 'n', closeTimeoutMs: 2000 });
    expect(() => s.sink(at({ type: 'log', level: 'info', message: 'x' }))).not.toThrow();
    const t0 = Date.now();
    await s.close();
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(() => s.sink(at({ type: 'log', level: 'info', message: 'after' }))).not.toThrow();
  });
});
