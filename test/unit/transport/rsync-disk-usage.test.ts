import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mountPointsUnder, usedBytesSampler, watchDiskProgress } from '../../../agent/transport/rsync-disk-usage.js';
import { createProgressTracker, type RsyncProgress } from '../../../agent/transport/rsync-progress.js';

const MOUNTINFO = [
  '22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '40 22 7:1 / /sysroot rw,relatime - ext4 /dev/loop1p2 rw',
  '41 40 7:1 / /sysroot/boot rw,relatime - ext4 /dev/loop1p1 rw',
  '42 40 0:5 / /sysroot/dev rw - devtmpfs udev rw',
  '43 22 0:30 / /sysroot2 rw - tmpfs tmpfs rw',
  '44 40 7:3 / /sysroot/my\\040data rw - xfs /dev/loop3 rw',
].join('\n');

describe('mountPointsUnder', () => {
  it('lists the mount points strictly under the directory, spaces unescaped, not its look-alike siblings', () => {
    expect(mountPointsUnder(MOUNTINFO, '/sysroot')).toEqual(['/sysroot/boot', '/sysroot/dev', '/sysroot/my data']);
    expect(mountPointsUnder(MOUNTINFO, '/sysroot/')).toEqual(['/sysroot/boot', '/sysroot/dev', '/sysroot/my data']);
    expect(mountPointsUnder(MOUNTINFO, '/elsewhere')).toEqual([]);
  });
});

describe('disk usage progress', () => {
  it('counts what is written under the directory, and the tracker turns it into percent of a known total', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'si-usage-'));
    try {
      const used = usedBytesSampler(dir);
      expect(used()).toBeGreaterThan(0);
      const seen: RsyncProgress[] = [];
      const total = 64 * 1024 * 1024;
      const tracker = createProgressTracker((p) => seen.push(p), 0, Date.now, total);
      const stop = watchDiskProgress(dir, (b, s) => tracker.observe(b, s), 20);
      // Written and synced in steps, so the filesystem's count moves (tmpfs counts at once, ext4 on allocation).
      for (let i = 0; i < 4; i++) {
        writeFileSync(join(dir, `f${i}`), Buffer.alloc(8 * 1024 * 1024, 1), { flush: true });
        await new Promise((r) => setTimeout(r, 60));
      }
      stop();
      const grown = seen.filter((p) => p.bytesDone > 0);
      expect(grown.length).toBeGreaterThan(0);
      expect(grown.at(-1)!.bytesDone).toBeGreaterThanOrEqual(16 * 1024 * 1024);
      expect(seen.every((p) => p.bytesTotal === total && p.percent === Math.min(99, Math.floor((p.bytesDone * 100) / total)))).toBe(true);
      expect(seen.map((p) => p.bytesDone)).toEqual(seen.map((p) => p.bytesDone).sort((a, b) => a - b));
      tracker.feed('Total file size: 67,108,864 bytes\nTotal transferred file size: 33,554,432 bytes\n');
      expect(tracker.finish()).toBe(33_554_432);
      expect(seen.at(-1)!.percent).toBe(100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
