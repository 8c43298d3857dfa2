// The initrd parts' cache: archives reused by content, the oldest pruned, and what a killed build left removed.
// Needs cpio and zstd (the build's own tools).

import { mkdtempSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeInitrdArchives, type ArchivePlan } from '../../../initrd-build/cpio.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'si-cpio-cache-'));
  dirs.push(d);
  return d;
}

describe('initrd parts cache', () => {
  it('keeps the newest 8 archives, removes a killed build\'s hour-old .tmp, and leaves a build\'s fresh .tmp alone', async () => {
    const d = scratch();
    const root = join(d, 'root');
    const cache = join(d, 'cache');
    mkdirSync(root);
    mkdirSync(cache);
    writeFileSync(join(root, 'a'), 'content of a part\n');
    const hourAgo = (Date.now() - 2 * 3600_000) / 1000;
    // Nine older archives, a stale tmp from a killed build, and one being written now by another build.
    for (let i = 0; i < 9; i++) {
      const f = join(cache, `old${i}-0123.cpio.zst`);
      writeFileSync(f, 'x');
      utimesSync(f, hourAgo + i, hourAgo + i);
    }
    writeFileSync(join(cache, 'agent-dead.cpio.zst.999.tmp'), 'half');
    utimesSync(join(cache, 'agent-dead.cpio.zst.999.tmp'), hourAgo, hourAgo);
    writeFileSync(join(cache, 'agent-busy.cpio.zst.1000.tmp'), 'half');
    const plan: ArchivePlan = { name: 'part', paths: ['a'], compression: { kind: 'zstd', level: 1 }, cache: true };
    const first = await writeInitrdArchives(root, join(d, 'initrd1'), [plan], { cacheDir: cache });
    expect(first[0]!.cached).toBe(false);
    const left = readdirSync(cache).sort();
    expect(left).not.toContain('agent-dead.cpio.zst.999.tmp');
    expect(left).toContain('agent-busy.cpio.zst.1000.tmp');
    const archives = left.filter((f) => f.endsWith('.cpio.zst'));
    expect(archives).toHaveLength(8);
    expect(archives.some((f) => f.startsWith('part-'))).toBe(true);
    // The oldest two went.
    expect(archives).not.toContain('old0-0123.cpio.zst');
    expect(archives).not.toContain('old1-0123.cpio.zst');
    const again = await writeInitrdArchives(root, join(d, 'initrd2'), [plan], { cacheDir: cache });
    expect(again[0]!.cached).toBe(true);
  });
});
