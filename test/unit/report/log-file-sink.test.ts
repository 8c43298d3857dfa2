import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SiEvent, Stamped } from '../../../agent/report/events.js';
import { createJsonLinesSink, createLogFileSink, formatLogLines } from '../../../agent/report/log-file-sink.js';

const T = Date.parse('2026-11-25T21:00:00.123Z');
const at = (e: SiEvent, ts = T): Stamped => ({ ...e, ts }) as Stamped;

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'si-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('formatLogLines', () => {
  it('stamps each line with the ISO time and the level', () => {
    expect(formatLogLines(at({ type: 'log', level: 'info', message: 'hello' }))).toEqual(['2026-11-25T21:00:00.123Z INFO hello']);
    expect(formatLogLines(at({ type: 'log', level: 'warn', message: 'a\nb' }))).toEqual(['2026-11-25T21:00:00.123Z WARN a', '2026-11-25T21:00:00.123Z WARN   b']);
    expect(formatLogLines(at({ type: 'command', argv: ['mkfs.xfs', '-f', '-L', 'my data', '/dev/loop3p2'] }))[0]).toBe("2026-11-25T21:00:00.123Z INFO $ mkfs.xfs -f -L 'my data' /dev/loop3p2");
    expect(formatLogLines(at({ type: 'step-end', step: 'image', ok: false, ms: 2000, error: 'boom' }))[0]).toBe('2026-11-25T21:00:00.123Z ERROR <== image FAILED after 2.0s: boom');
    // A failed command is worth an INFO line; a quiet probe's expected failure only a DEBUG one.
    expect(formatLogLines(at({ type: 'command-end', argv: ['blkid', '/dev/sr0'], code: 2, signal: null, ms: 30 }))[0]).toBe('2026-11-25T21:00:00.123Z INFO exit 2 after 0.0s: blkid');
    expect(formatLogLines(at({ type: 'command-end', argv: ['blkid', '/dev/sr0'], code: 2, signal: null, ms: 30, quiet: true }))[0]).toBe('2026-11-25T21:00:00.123Z DEBUG exit 2 after 0.0s: blkid');
  });
});

describe('createLogFileSink', () => {
  it('appends every event (progress throttled) to a file in a new directory, readable right after close', async () => {
    const path = join(dir, 'sub', 'si.log');
    const f = createLogFileSink(path);
    f.sink(at({ type: 'step-start', step: 'part', title: 'Partitioning disks' }));
    for (let p = 0; p <= 100; p += 1) f.sink(at({ type: 'progress', phase: 'image', percent: p, bytesDone: p, bytesTotal: 100, speedKBs: 1, etaS: 1 }, T + p));
    f.sink(at({ type: 'fatal', step: 'part', message: 'it broke', details: ['exit code 1'], disks: ['/dev/sda: untouched'] }));
    await f.close();
    f.sink(at({ type: 'log', level: 'info', message: 'after close' })); // ignored, no throw
    const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
    expect(lines[0]).toBe('2026-11-25T21:00:00.123Z INFO ==> Partitioning disks (part)');
    expect(lines.filter((l) => l.includes('image:'))).toHaveLength(11); // 0, 10, ..., 100
    expect(lines.some((l) => l.endsWith('ERROR INSTALL FAILED in step "part"'))).toBe(true);
    expect(lines.some((l) => l.endsWith('/dev/sda: untouched'))).toBe(true);
    expect(lines.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARN|ERROR) /.test(l))).toBe(true);
    expect(readFileSync(path, 'utf8')).not.toContain('after close');
  });

  it('appends to an existing log instead of replacing it', async () => {
    const path = join(dir, 'si.log');
    for (const msg of ['one', 'two']) {
      const f = createLogFileSink(path);
      f.sink(at({ type: 'log', level: 'info', message: msg }));
      await f.close();
    }
    expect(readFileSync(path, 'utf8')).toMatch(/one\n.*two\n$/);
  });
});

describe('createJsonLinesSink', () => {
  it('writes one JSON object per event, every event', async () => {
    const path = join(dir, 'events.jsonl');
    const f = createJsonLinesSink(path);
    const events: SiEvent[] = [
      { type: 'status', status: 0 },
      { type: 'progress', phase: 'image', percent: 1, bytesDone: 1, bytesTotal: 100, speedKBs: 1, etaS: 9 },
      { type: 'progress', phase: 'image', percent: 2, bytesDone: 2, bytesTotal: 100, speedKBs: 1, etaS: 8 },
    ];
    for (const e of events) f.sink(at(e));
    await f.close();
    const parsed = readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Stamped);
    expect(parsed).toEqual(events.map((e) => at(e)));
  });
});
