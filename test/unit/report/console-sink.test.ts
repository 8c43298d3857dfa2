import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createConsoleSink } from '../../../agent/report/console-sink.js';
import type { SiEvent, Sink, Stamped } from '../../../agent/report/events.js';

const GiB = 1024 ** 3;

/** A console sink writing into a buffer; `feed` stamps events with the given times. */
function capture(opts: Parameters<typeof createConsoleSink>[1]): { feed: (e: SiEvent, ts?: number) => void; text: () => string } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const sink: Sink = createConsoleSink(out, opts);
  return { feed: (e, ts = 0) => sink({ ...e, ts } as Stamped), text: () => text };
}
const progress = (percent: number): SiEvent => ({ type: 'progress', phase: 'image', percent, bytesDone: (percent / 100) * 2 * GiB, bytesTotal: 2 * GiB, speedKBs: 10240, etaS: 60 });

describe('console sink: steps', () => {
  it('numbers steps against the planned list and reports ok/FAILED with durations', () => {
    const c = capture({ tty: false });
    c.feed({ type: 'steps-planned', steps: [{ step: 'net', title: 'Network' }, { step: 'part', title: 'Partitioning disks' }, { step: 'img', title: 'Image' }] });
    c.feed({ type: 'step-start', step: 'part', title: 'Partitioning disks' });
    c.feed({ type: 'step-end', step: 'part', ok: true, ms: 1234 });
    c.feed({ type: 'step-start', step: 'img', title: 'Image' });
    c.feed({ type: 'step-end', step: 'img', ok: false, ms: 500, error: 'rsync failed with exit code 23' });
    expect(c.text()).toBe('==> [2/3] Partitioning disks\n    ok 1.2s\n==> [3/3] Image\n    FAILED after 0.5s: rsync failed with exit code 23\n');
  });

  it('counts steps itself when none were announced', () => {
    const c = capture({ tty: false, totalSteps: 12 });
    c.feed({ type: 'step-start', step: 'a', title: 'A' });
    c.feed({ type: 'step-start', step: 'b', title: 'B' });
    expect(c.text()).toBe('==> [1/12] A\n==> [2/12] B\n');
  });

  it('shows command lines and debug only when verbose; warnings and errors always', () => {
    for (const verbose of [false, true]) {
      const c = capture({ tty: false, verbose });
      c.feed({ type: 'command', argv: ['parted', '-s', '/dev/sda', 'mklabel gpt'] });
      c.feed({ type: 'log', level: 'debug', message: 'probing' });
      c.feed({ type: 'log', level: 'warn', message: 'ping failed' });
      c.feed({ type: 'log', level: 'error', message: 'bad\nthing' });
      c.feed({ type: 'retry', what: 'rsync scripts', attempt: 2, delayMs: 400, error: 'connection refused' });
      const t = c.text();
      expect(t.includes("$ parted -s /dev/sda 'mklabel gpt'")).toBe(verbose);
      expect(t.includes('probing')).toBe(verbose);
      expect(t).toContain('WARNING: ping failed\n');
      expect(t).toContain('ERROR: bad\n       thing\n');
      expect(t).toContain('WARNING: retrying rsync scripts in 0.4s (attempt 2): connection refused\n');
    }
  });

  it('renders the shellout report with details and disks indented', () => {
    const c = capture({ tty: false });
    c.feed({ type: 'fatal', step: 'partition', message: 'parted failed with exit code 1: parted -s /dev/sda mklabel gpt', details: ['exit code 1', 'Error: Partition(s) on /dev/sda are being used.'], disks: ['/dev/sda: untouched'] });
    expect(c.text()).toBe(
      [
        '',
        'INSTALL FAILED in step "partition"',
        '    parted failed with exit code 1: parted -s /dev/sda mklabel gpt',
        '  Details:',
        '    exit code 1',
        '    Error: Partition(s) on /dev/sda are being used.',
        '  Disks:',
        '    /dev/sda: untouched',
        '',
        '',
      ].join('\n'),
    );
  });
});

describe('console sink: progress', () => {
  it('on a tty redraws one line with \\r, throttled, and ends it with a newline', () => {
    const c = capture({ tty: true, width: 80, redrawMs: 100 });
    c.feed(progress(10), 1000);
    c.feed(progress(11), 1050); // within 100 ms: not drawn
    c.feed(progress(20), 1200);
    c.feed(progress(100), 1250); // the end is always drawn
    const t = c.text();
    const frames = t.split('\r').filter((f) => f !== '');
    expect(frames).toHaveLength(3);
    expect(frames[0]).toContain(' 10%');
    expect(frames[1]).toContain(' 20%');
    expect(frames[2]).toContain('100%');
    expect(t).not.toContain(' 11%');
    expect(t.endsWith('\n')).toBe(true);
    expect(t.split('\n')).toHaveLength(2); // a single line, then the newline
    for (const f of frames) expect(f.replace(/\n$/, '').length).toBe(79);
  });

  it('on a tty prints messages above the bar and redraws it', () => {
    const c = capture({ tty: true, width: 100 });
    c.feed(progress(40), 0);
    c.feed({ type: 'log', level: 'warn', message: 'slow' }, 10);
    const t = c.text();
    const i = t.indexOf('WARNING: slow\n');
    expect(i).toBeGreaterThan(0);
    expect(t.slice(0, i)).toMatch(/\r {99}\r$/); // the bar was wiped first
    expect(t.slice(i)).toMatch(/WARNING: slow\n\rimage \[.*40%/);
  });

  it('on a non-tty prints a plain line at most every 10 % or 10 s', () => {
    const c = capture({ tty: false });
    const ts = [0, 1000, 2000, 3000, 15_000, 16_000, 17_000];
    const pct = [1, 5, 9, 12, 13, 25, 100];
    pct.forEach((p, i) => c.feed(progress(p), ts[i]));
    const lines = c.text().split('\n').filter((l) => l !== '');
    expect(lines.map((l) => /(\d+)%/.exec(l)![1])).toEqual(['1', '12', '13', '25', '100']);
    expect(c.text()).not.toContain('\r');
    expect(lines[0]).toBe('image:   1% 20.5 MB/2.00 GB 10.0 MB/s ETA 1m00s');
  });
});
