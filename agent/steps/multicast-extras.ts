// What goes with a cast: the digest and size the server publishes beside the scripts, progress events, the image excludes.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParamError } from '../errors.js';
import type { Ctx } from './context.js';

/** The sha256 the server publishes for a module (`<module>.sha256` in the scripts directory, sha256sum's format), if any. */
export function publishedDigest(scriptsDir: string, module: string): string | undefined {
  const file = join(scriptsDir, `${module}.sha256`);
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8').trim();
  const hex = text.split(/\s+/)[0] ?? '';
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new ParamError([{ source: `scripts/${module}.sha256`, key: 'sha256', message: `${JSON.stringify(text.slice(0, 80))} is not a sha256 hex digest` }]);
  return hex.toLowerCase();
}

/** The byte size of a module's cast when the server publishes it (`<module>.size`), for a progress bar with a total. */
export function publishedSize(scriptsDir: string, module: string, warn: (m: string) => void): number | null {
  const file = join(scriptsDir, `${module}.size`);
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8').trim();
  if (/^\d{1,15}$/.test(text)) return Number(text);
  warn(`scripts/${module}.size: ${JSON.stringify(text.slice(0, 40))} is not a byte count; progress shows bytes only`);
  return null;
}

/** SPEC 7's image excludes, as over rsync: any `lost+found/` directory and the contents of the image's /proc. */
export function imageSkip(rel: string): boolean {
  return /(^|\/)lost\+found(\/|$)/.test(rel) || rel.startsWith('proc/');
}

/** Progress events for a cast (at most every 500 ms): bytes from the stream, percent when the total is known. */
export function castProgress(ctx: Ctx, phase: string, total: number | null, now: () => number = Date.now) {
  const started = now();
  let lastAt = 0;
  const emit = (done: number) => {
    const secs = Math.max(0.001, (now() - started) / 1000);
    const speedKBs = done / 1024 / secs;
    const percent = total ? Math.min(100, (done / total) * 100) : 0;
    const etaS = total && speedKBs > 0 ? Math.max(0, (total - done) / 1024 / speedKBs) : null;
    ctx.report.emit({ type: 'progress', phase, percent, bytesDone: done, bytesTotal: total, speedKBs, etaS });
  };
  return {
    update(done: number): void {
      if (now() - lastAt < 500) return;
      lastAt = now();
      emit(done);
    },
    finish(done: number): void {
      // A published size that was off must not leave the bar short of 100%.
      if (total !== null) total = done;
      emit(done);
    },
  };
}
