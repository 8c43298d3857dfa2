import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatProgressBar, formatProgressLine, formatSpeed, type ProgressEvent } from '../../../agent/report/format.js';

const GiB = 1024 ** 3;
const prog = (p: Partial<ProgressEvent>): ProgressEvent => ({ type: 'progress', phase: 'image', percent: 0, bytesDone: 0, bytesTotal: 2 * GiB, speedKBs: 0, etaS: null, ...p });

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.5 KB'],
    [12.3 * 1024 * 1024, '12.3 MB'],
    [1.2 * GiB, '1.20 GB'],
    [3 * 1024 * GiB, '3.00 TB'],
    [-1, '? B'],
  ])('%d -> %s', (n, s) => expect(formatBytes(n)).toBe(s));
});

describe('formatDuration', () => {
  it.each([
    [400, '0.4s'],
    [1234, '1.2s'],
    [59_900, '59.9s'],
    [125_000, '2m05s'],
    [3_720_000, '1h02m'],
    [Number.NaN, '--'],
  ])('%d ms -> %s', (ms, s) => expect(formatDuration(ms)).toBe(s));
});

describe('formatSpeed', () => {
  it.each([
    [0, '0 KB/s'],
    [850.4, '850 KB/s'],
    [1024, '1.0 MB/s'],
    [12.3 * 1024, '12.3 MB/s'],
    [2 * 1024 * 1024, '2.00 GB/s'],
  ])('%d KB/s -> %s', (k, s) => expect(formatSpeed(k)).toBe(s));
});

describe('formatProgressBar', () => {
  it('is empty at 0 %, fits the width and shows no ETA when unknown', () => {
    const s = formatProgressBar(prog({ percent: 0 }), 80);
    expect(s.length).toBe(79);
    expect(s).toMatch(/^image \[-+\]   0%  0 B\/2\.00 GB  0 KB\/s  ETA --$/);
    expect(s).not.toContain('#');
  });

  it('is half full at 50 % with bytes, speed and ETA', () => {
    const s = formatProgressBar(prog({ percent: 50, bytesDone: GiB, speedKBs: 12.3 * 1024, etaS: 100 }), 80);
    expect(s.length).toBe(79);
    expect(s).toContain(' 50%  1.00 GB/2.00 GB  12.3 MB/s  ETA 1m40s');
    const bar = /\[([#-]+)\]/.exec(s)![1]!;
    const filled = bar.split('').filter((c) => c === '#').length;
    expect(Math.abs(filled - bar.length / 2)).toBeLessThanOrEqual(0.5);
  });

  it('is full at 100 % and clamps beyond', () => {
    const s = formatProgressBar(prog({ percent: 130, bytesDone: 2 * GiB, etaS: 0 }), 100);
    expect(s.length).toBe(99);
    expect(/\[([#-]+)\]/.exec(s)![1]).toMatch(/^#+$/);
    expect(s).toContain('100%  2.00 GB/2.00 GB');
    expect(s).toContain('ETA 0.0s');
  });

  it('has no bar, percent or ETA when the total is unknown', () => {
    const s = formatProgressBar(prog({ bytesTotal: null, bytesDone: 5 * 1024 * 1024, speedKBs: 700, percent: 37 }), 80);
    expect(s).toBe('image  5.0 MB  700 KB/s');
  });

  it('drops the bar rather than wrap on a narrow console', () => {
    const s = formatProgressBar(prog({ percent: 50, bytesDone: GiB, speedKBs: 2048, etaS: 5 }), 40);
    expect(s.length).toBeLessThanOrEqual(39);
    expect(s).not.toContain('[');
  });
});

describe('formatProgressLine', () => {
  it('says phase, percent, bytes, speed and ETA on one line', () => {
    expect(formatProgressLine(prog({ percent: 25, bytesDone: 512 * 1024 * 1024, speedKBs: 4096, etaS: 3700 }))).toBe('image:  25% 512.0 MB/2.00 GB 4.0 MB/s ETA 1h01m');
  });
});
