// Loads the kernel modules shipped in the initrd (disks, NICs, filesystems, RAID, device-mapper), then lets devices settle.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import type { Runner } from '../exec/runner.js';
import type { Reporter } from '../report/events.js';

/** Module names in a modules.dep text (`kernel/drivers/x/y.ko.zst: deps`), in file order. */
export function moduleNamesFromDep(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const path = line.split(':')[0]?.trim();
    if (!path) continue;
    const base = path.split('/').pop()!.replace(/\.ko(\.(xz|zst|gz))?$/, '');
    names.push(base.replace(/-/g, '_'));
  }
  return names;
}

/** Loads every module the initrd carries; modprobe resolves dependencies. Returns how many were asked for. */
export async function loadInitrdModules(run: Runner, report: Reporter, root = '/'): Promise<number> {
  const dep = `${root}lib/modules/${release()}/modules.dep`;
  if (!existsSync(dep)) {
    report.info(`no ${dep}: no modules to load (everything built in?)`);
    return 0;
  }
  const names = moduleNamesFromDep(readFileSync(dep, 'utf8'));
  // One modprobe for all: a module for absent hardware just registers its driver.
  const r = await run('modprobe', ['-a', ...names], { allowFail: true, quiet: true, timeout: 120_000 });
  if (r.code !== 0) report.warn(`some modules did not load: ${r.stderr.trim().split('\n').slice(-3).join('; ')}`);
  return names.length;
}

/** Block devices the kernel knows now (from /sys/block). */
export function listBlockDevices(sysBlock = '/sys/block'): string[] {
  try {
    return readdirSync(sysBlock).filter((n) => !/^(ram|loop|zram)\d+$/.test(n)).sort();
  } catch {
    return [];
  }
}

/** Waits until the block device list has not changed for stableMs, or maxMs passed. */
export async function waitForDevicesToSettle(stableMs = 1500, maxMs = 15_000): Promise<string[]> {
  const started = Date.now();
  let last = listBlockDevices().join(' ');
  let since = Date.now();
  while (Date.now() - started < maxMs) {
    await new Promise((r) => setTimeout(r, 250));
    const now = listBlockDevices().join(' ');
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (now !== '' && Date.now() - since >= stableMs) break;
  }
  return listBlockDevices();
}
