// Unit: the removable-media probe of the local.cfg search. Whether a drive holds a medium is asked by opening it (an
// empty CD drive answers ENOMEDIUM; that case is proven in QEMU, test/boot/boot-dhcp-tap.test.ts); each drive is asked
// once, and the watch asks the drives that show up while the drivers still load.

import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MediumProbe, noMedium } from '../../../agent/steps/local-cfg-search.js';

describe('noMedium', () => {
  it('a device or file that opens holds something; one that does not exist is no ENOMEDIUM either', async () => {
    await expect(noMedium('/dev/null')).resolves.toBe(false);
    await expect(noMedium('/nonexistent/sr9')).resolves.toBe(false);
  });

  it('a drive that does not answer in time counts as one with a medium (blkid has its own time limit)', async () => {
    // A FIFO with no writer: its open blocks, as a hung drive's would.
    const dir = mkdtempSync(join(tmpdir(), 'si-media-'));
    const fifo = join(dir, 'hung');
    execFileSync('mkfifo', [fifo]);
    try {
      await expect(noMedium(fifo, 100)).resolves.toBe(false);
    } finally {
      closeSync(openSync(fifo, constants.O_WRONLY)); // lets the blocked open finish (and close)
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('MediumProbe', () => {
  it('asks each drive once', () => {
    const p = new MediumProbe();
    expect(p.ask('/dev/null')).toBe(p.ask('/dev/null'));
  });

  it('the watch asks a removable drive that appears while it waits, and stops when the wait ends', async () => {
    const sys = mkdtempSync(join(tmpdir(), 'si-media-'));
    try {
      const p = new MediumProbe();
      const asked: string[] = [];
      const ask = p.ask.bind(p);
      p.ask = (dev: string) => {
        asked.push(dev);
        return ask(dev);
      };
      let end!: () => void;
      const until = new Promise<void>((r) => (end = r));
      const watching = p.watch(until, sys);
      await new Promise((r) => setTimeout(r, 120));
      expect(asked).toEqual([]);
      // A removable drive named like a device node that exists here (/dev/null), as sysfs would show it.
      mkdirSync(join(sys, 'null'));
      writeFileSync(join(sys, 'null', 'removable'), '1\n');
      writeFileSync(join(sys, 'null', 'size'), '8\n');
      await new Promise((r) => setTimeout(r, 120));
      expect(asked).toContain('/dev/null');
      end();
      await watching;
      const n = asked.length;
      await new Promise((r) => setTimeout(r, 120));
      expect(asked.length).toBe(n);
    } finally {
      rmSync(sys, { recursive: true, force: true });
    }
  });
});
