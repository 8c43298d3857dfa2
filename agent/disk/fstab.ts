// The target's etc/fstab from the plan: fsinfo `line` order, comments kept, written atomically.

import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DiskPlan } from '../plan/disk-plan-types.js';

/** The fstab text of a plan, one entry per fsinfo line, ending in a newline. */
export function formatFstab(plan: DiskPlan): string {
  return plan.fstab.map((l) => l.text + '\n').join('');
}

/** Writes <sysroot>/etc/fstab via a temporary file and a rename, so a crash never leaves half a file. */
export async function writeFstab(plan: DiskPlan, sysroot: string): Promise<string> {
  const dir = join(sysroot, 'etc');
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'fstab');
  const tmp = join(dir, `.fstab.si-agent.${process.pid}`);
  await writeFile(tmp, formatFstab(plan), { mode: 0o644 });
  await rename(tmp, path);
  return path;
}
