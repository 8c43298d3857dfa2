// start_report_task / stop_report_task: the image's progress from the used space growing under the master's target.

import { readFileSync, statfsSync } from 'node:fs';
import type { Reporter } from '../report/events.js';

const PSEUDO = new Set(['proc', 'sysfs', 'devtmpfs', 'devpts', 'tmpfs', 'cgroup', 'cgroup2', 'securityfs', 'debugfs', 'efivarfs']);

/** Mount points at or under `target` holding real filesystems, from a mounts table (`/proc/self/mounts` text). */
export function mountsUnder(mountsText: string, target: string): string[] {
  const out: string[] = [];
  for (const line of mountsText.split('\n')) {
    const f = line.split(' ');
    if (f.length < 3) continue;
    const mp = f[1]!.replace(/\\040/g, ' ');
    if ((mp === target || mp.startsWith(target + '/')) && !PSEUDO.has(f[2]!) && !out.includes(mp)) out.push(mp);
  }
  return out;
}

/** Bytes used on the filesystems mounted at or under `target` (0 when none is). */
export function usedBytesUnder(target: string, mountsPath = '/proc/self/mounts'): number {
  let text: string;
  try {
    text = readFileSync(mountsPath, 'utf8');
  } catch {
    return 0;
  }
  let used = 0;
  for (const mp of mountsUnder(text, target)) {
    try {
      const s = statfsSync(mp);
      used += (s.blocks - s.bfree) * s.bsize;
    } catch {
      // unmounted meanwhile
    }
  }
  return used;
}

export interface ReportTask {
  stop(): void;
}

/**
 * Emits image progress every `everyMs` from the growth of used space under `target` since the start (4.3 sent
 * `status=<1..99>:speed=<KB/s>` every 10 s the same way); with no known total, the percent stays unknown (0).
 */
export function startReportTask(report: Reporter, target: string, totalBytes: number | null, everyMs = 10_000, mountsPath?: string): ReportTask {
  const base = usedBytesUnder(target, mountsPath);
  const started = Date.now();
  let lastBytes = 0;
  let lastAt = started;
  const tick = () => {
    const now = Date.now();
    const done = Math.max(0, usedBytesUnder(target, mountsPath) - base);
    const speed = now > lastAt ? ((done - lastBytes) / 1024) / ((now - lastAt) / 1000) : 0;
    lastBytes = done;
    lastAt = now;
    const total = totalBytes && totalBytes > 0 ? totalBytes : null;
    const percent = total ? Math.min(99, (done / total) * 100) : 0;
    const avg = done / Math.max(0.001, (now - started) / 1000);
    report.emit({ type: 'progress', phase: 'image', percent, bytesDone: done, bytesTotal: total, speedKBs: Math.max(0, speed), etaS: total && avg > 0 ? Math.max(0, Math.round((total - done) / avg)) : null, extra: 'used space under the target' });
  };
  const timer = setInterval(tick, everyMs);
  return {
    stop() {
      clearInterval(timer);
    },
  };
}
