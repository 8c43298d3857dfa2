// The digest and size of a multicast cast: flamethrowerd casts a module as `tar -B -S -cpf - -C DIR .` (GNU tar, run at
// cast time), so the same command on the same tree, hashed as it streams, gives what the agent checks the cast against.

import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Runner } from '../exec/runner.js';

/** The argv flamethrowerd casts a module's directory with. */
export function castArgs(dir: string): string[] {
  return ['-B', '-S', '-cpf', '-', '-C', dir, '.'];
}

/** Runs the cast's tar and returns its sha256 and byte count (nothing kept in memory). */
export async function castDigest(run: Runner, dir: string, signal?: AbortSignal): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  let drained: Promise<void> = Promise.resolve();
  await run('tar', castArgs(dir), {
    signal, quiet: true, maxBuffer: 64 * 1024,
    takeStdout: (s: Readable) => {
      drained = new Promise((resolve, reject) => {
        s.on('data', (c: Buffer) => {
          h.update(c);
          size += c.length;
        });
        s.on('end', resolve);
        s.on('error', reject);
      });
    },
  });
  await drained;
  return { sha256: h.digest('hex'), size };
}

/** The text of `<module>.sha256` in sha256sum's format, as the agent's publishedDigest reads it. */
export function sha256FileText(sha256: string, module: string): string {
  return `${sha256}  ${module}.tar\n`;
}
