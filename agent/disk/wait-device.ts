// Waits for device nodes to appear (partitions after a re-read, md arrays, LVs), polling with a deadline.

import { stat } from 'node:fs/promises';

/** Whether a block device node exists at path. */
export async function isBlockDevice(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isBlockDevice();
  } catch {
    return false;
  }
}

/** Polls every 100 ms until every path is a block device; returns the ones still missing at the deadline. */
export async function waitForDevices(paths: string[], timeoutMs: number, exists: (p: string) => Promise<boolean> = isBlockDevice, signal?: AbortSignal): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing: string[] = [];
    for (const p of paths) if (!(await exists(p))) missing.push(p);
    if (missing.length === 0 || Date.now() >= deadline || signal?.aborted) return missing;
    await new Promise((r) => setTimeout(r, 100));
  }
}
