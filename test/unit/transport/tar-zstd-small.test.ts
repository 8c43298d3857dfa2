// Unit: a zstd archive small enough that zstd exits before the extractor first reads its output is still extracted
// (Node resumes, and so drops, a child's unread stdout when it exits; the source holds it with a 'readable' listener).

import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { extractTar } from '../../../agent/transport/tar/extract.js';
import { createRunner } from '../../../agent/exec/runner.js';

describe('extractTar over a small zstd stream', () => {
  it('extracts every entry of a 200-byte .tar.zst handed over in one chunk, each time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'si-zst-small-'));
    try {
      mkdirSync(join(dir, 'src/etc'), { recursive: true });
      writeFileSync(join(dir, 'src/etc/motd'), 'hello\n');
      execFileSync('tar', ['--zstd', '-cf', join(dir, 'a.tar.zst'), '-C', join(dir, 'src'), '.']);
      const buf = readFileSync(join(dir, 'a.tar.zst'));
      for (let i = 0; i < 5; i++) {
        const out = join(dir, `out${i}`);
        const r = await extractTar({ run: createRunner(null) }, Readable.from([buf]), out, { hashStream: false });
        expect(r.compression).toBe('zstd');
        expect(readFileSync(join(out, 'etc/motd'), 'utf8')).toBe('hello\n');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
