// The multicast files: `<module>.sha256` (sha256sum format) for the image and each override, `<image>.size` for the
// image, in OUT/scripts-extra/ for the operator to copy into the scripts directory the agent reads them from. The cast
// is GNU tar's output, not ours: it is run again only when the tree hash changed (kept in `.tree-<module>`).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runner } from '../exec/runner.js';
import type { Artefact } from './manifest.js';
import type { Staging } from './staging.js';
import { castDigest, sha256FileText } from './cast-digest.js';

/** The flamethrower module of an artefact (the image's name, override_NAME); null for the scripts. */
export function castModuleOf(a: Pick<Artefact, 'kind' | 'name'>): string | null {
  return a.kind === 'image' ? a.name : a.kind === 'override' ? `override_${a.name}` : null;
}

function read(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Stages the cast digests (and the image's size) of every image and override published this time. */
export async function publishCasts(run: Runner, staging: Staging, out: string, done: Array<Artefact & { dir: string }>, signal?: AbortSignal): Promise<Array<{ module: string; sha256: string; size: number }>> {
  const result: Array<{ module: string; sha256: string; size: number }> = [];
  for (const a of done) {
    const module = castModuleOf(a);
    if (!module) continue;
    const dir = join(out, 'scripts-extra');
    const state = read(join(dir, `.tree-${module}`))?.trim().split(' ');
    const shaText = read(join(dir, `${module}.sha256`));
    let sha256: string;
    let size: number;
    if (state && state[0] === a.tree && state.length === 3 && shaText?.startsWith(state[1]!) && (a.kind !== 'image' || existsSync(join(dir, `${module}.size`)))) {
      sha256 = state[1]!;
      size = Number(state[2]);
    } else {
      ({ sha256, size } = await castDigest(run, a.dir, signal));
      staging.write(`scripts-extra/.tree-${module}`, `${a.tree} ${sha256} ${size}\n`);
      staging.write(`scripts-extra/${module}.sha256`, sha256FileText(sha256, module));
      if (a.kind === 'image') staging.write(`scripts-extra/${module}.size`, `${size}\n`);
    }
    result.push({ module, sha256, size });
  }
  return result;
}
