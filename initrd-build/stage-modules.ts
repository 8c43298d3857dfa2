// Copies the chosen kernel modules into the staging root and regenerates their index with depmod -b.

import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KernelInfo } from './kernel.ts';
import { resolveModules, type ModuleRequest, type ModuleResolution } from './modules.ts';
import { $sync } from './zx.ts';

/** Index files depmod reads besides the modules themselves. */
const KEEP = ['modules.builtin', 'modules.builtin.modinfo', 'modules.order'];

export interface StagedModules extends ModuleResolution {
  bytes: number;
}

/** Resolves requests against the kernel's modules.dep and copies the closure into root/lib/modules/<ver>/. */
export function stageModules(root: string, kernel: KernelInfo, requests: readonly ModuleRequest[]): StagedModules {
  const depText = readFileSync(join(kernel.modulesDir, 'modules.dep'), 'utf8');
  const builtinPath = join(kernel.modulesDir, 'modules.builtin');
  const builtinText = existsSync(builtinPath) ? readFileSync(builtinPath, 'utf8') : '';
  const res = resolveModules(depText, builtinText, requests);
  if (res.missing.length) throw new Error(`kernel ${kernel.version} has no module (nor built-in) named: ${res.missing.join(', ')}`);

  const dest = join(root, 'usr/lib/modules', kernel.version);
  mkdirSync(dest, { recursive: true });
  let bytes = 0;
  for (const rel of res.files) {
    const to = join(dest, rel);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(join(kernel.modulesDir, rel), to);
    bytes += statSync(to).size;
  }
  for (const f of KEEP) {
    if (existsSync(join(kernel.modulesDir, f))) copyFileSync(join(kernel.modulesDir, f), join(dest, f));
  }
  $sync()`depmod -b ${root} ${kernel.version}`;
  return { ...res, bytes };
}
