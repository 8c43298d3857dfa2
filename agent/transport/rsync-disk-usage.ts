// Progress of an image copy read from the target's used space, so rsync need not print a line per file.

import { readFileSync, statfsSync } from 'node:fs';
import { resolve } from 'node:path';

/** Mount points at or under dir, from /proc/self/mountinfo text (field 5, octal escapes undone). */
export function mountPointsUnder(mountinfo: string, dir: string): string[] {
  const base = resolve(dir);
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const path = mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (path !== base && path.startsWith(base === '/' ? '/' : base + '/')) out.push(path);
  }
  return [...new Set(out)];
}

/**
 * A function giving the bytes in use on dir's filesystem and every filesystem mounted under it (statfs: blocks less
 * free blocks). Data the kernel holds for writing counts already (ext4 and XFS reserve its blocks at once).
 */
export function usedBytesSampler(dir: string): () => number {
  let mounts: string[] = [];
  try {
    mounts = mountPointsUnder(readFileSync('/proc/self/mountinfo', 'utf8'), dir);
  } catch {
    // no /proc: dir's own filesystem only
  }
  const paths = [dir, ...mounts];
  return () => {
    let used = 0;
    for (const p of paths) {
      try {
        const s = statfsSync(p);
        used += (s.blocks - s.bfree) * s.bsize;
      } catch {
        // unmounted meanwhile: not counted
      }
    }
    return used;
  };
}

/**
 * Reports bytes written under dir since the start every intervalMs, with the speed over the last interval, until
 * the returned stop function is called.
 */
export function watchDiskProgress(dir: string, observe: (bytesDone: number, speedKBs: number) => void, intervalMs = 500): () => void {
  const used = usedBytesSampler(dir);
  const start = used();
  let lastBytes = 0;
  let lastAt = Date.now();
  const timer = setInterval(() => {
    const bytes = Math.max(0, used() - start);
    const now = Date.now();
    const speedKBs = now > lastAt ? Math.max(0, bytes - lastBytes) / 1024 / ((now - lastAt) / 1000) : 0;
    lastBytes = bytes;
    lastAt = now;
    observe(bytes, speedKBs);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
