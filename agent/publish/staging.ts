// Writes a publish into a staging directory inside OUT, then moves each file into place by rename: a failure before the
// moves leaves the previous tree exactly as it was, and the manifest is always whole (it is moved last).

import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export class Staging {
  readonly dir: string;
  private moves: string[] = [];
  private removals: string[] = [];

  constructor(readonly out: string) {
    this.dir = join(out, `.publish-tmp-${process.pid}`);
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
  }

  /** The staged path of a publish-tree path (its directory made); the file will replace OUT/rel. */
  path(rel: string): string {
    const p = join(this.dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    if (!this.moves.includes(rel)) this.moves.push(rel);
    return p;
  }

  /** Stages a file's content. */
  write(rel: string, data: string | Buffer, mode = 0o644): void {
    writeFileSync(this.path(rel), data, { mode });
  }

  /** A file of the previous tree to remove once the new manifest is in place. */
  remove(rel: string): void {
    this.removals.push(rel);
  }

  /** Moves every staged file into place, `last` (the manifest) after all the others; then removes what is gone. */
  commit(last: string): void {
    const order = [...this.moves.filter((m) => m !== last), ...this.moves.filter((m) => m === last)];
    for (const rel of order) {
      const dest = join(this.out, rel);
      mkdirSync(dirname(dest), { recursive: true });
      renameSync(join(this.dir, rel), dest);
    }
    for (const rel of this.removals) if (existsSync(join(this.out, rel))) rmSync(join(this.out, rel), { force: true });
    this.discard();
  }

  /** Removes the staging directory (after a failure, nothing of it is left). */
  discard(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
