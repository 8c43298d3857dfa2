// Loop devices over sparse files for system tests: made by the test, always detached.

import { execFileSync } from 'node:child_process';
import { closeSync, openSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';

export interface Loop {
  dev: string;
  file: string;
}

/** Creates a sparse file of sizeMiB and attaches it with partition scanning. */
export function attachLoop(dir: string, name: string, sizeMiB: number): Loop {
  const file = join(dir, `${name}.img`);
  const fd = openSync(file, 'w');
  ftruncateSync(fd, sizeMiB * 1024 * 1024);
  closeSync(fd);
  const dev = execFileSync('losetup', ['-fP', '--show', file], { encoding: 'utf8' }).trim();
  return { dev, file };
}

/** Detaches loops; errors ignored (already gone). */
export function detachLoops(loops: Loop[]): void {
  for (const l of loops) {
    try {
      execFileSync('losetup', ['-d', l.dev], { stdio: 'ignore' });
    } catch {
      /* already detached */
    }
  }
}

/** sha256 of the first MiB of a device (partition table and superblocks live there). */
export function headHash(dev: string): string {
  const buf = execFileSync('dd', [`if=${dev}`, 'bs=1M', 'count=1', 'status=none']);
  return execFileSync('sha256sum', [], { input: buf, encoding: 'utf8' }).split(' ')[0]!;
}
