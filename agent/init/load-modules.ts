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

/**
 * Modules no device asks for by modalias that the install environment needs from the start. Filesystems, md and
 * device-mapper are loaded later, only as the disk plan needs them (see disk/kernel-modules.ts), and a removable
 * medium's filesystem only once blkid has named it (steps/local-cfg-search.ts): each costs a good part of a second
 * under emulation (raid456 benchmarks its parity code as it loads).
 */
export const ALWAYS_MODULES: readonly string[] = ['sd_mod', 'sr_mod', 'af_packet'];

/** Every distinct modalias under /sys/devices: what the hardware present asks for. */
export function collectModaliases(sysDevices = '/sys/devices'): string[] {
  const found = new Set<string>();
  const walk = (dir: string, depth: number) => {
    if (depth > 24) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name === 'modalias' && e.isFile()) {
        try {
          const a = readFileSync(`${dir}/modalias`, 'utf8').trim();
          if (a) found.add(a);
        } catch {
          /* unreadable: skip */
        }
      } else if (e.isDirectory() && !e.isSymbolicLink()) walk(`${dir}/${e.name}`, depth + 1);
    }
  };
  walk(sysDevices, 0);
  return [...found].sort();
}

/**
 * Loads the drivers for the hardware present (by modalias, as udev would; twice, since a bus driver such as
 * virtio_pci brings new devices), then the few modules every install needs. Loading every module of the
 * initrd instead took 10-14 s under emulation. Returns the number of modprobe requests.
 */
export async function loadInitrdModules(run: Runner, report: Reporter, root = '/'): Promise<number> {
  const dep = `${root}lib/modules/${release()}/modules.dep`;
  if (!existsSync(dep)) {
    report.info(`no ${dep}: no modules to load (everything built in?)`);
    return 0;
  }
  const carried = new Set(moduleNamesFromDep(readFileSync(dep, 'utf8')));
  let asked = 0;
  const seen = new Set<string>();
  for (let pass = 0; pass < 3; pass++) {
    const fresh = collectModaliases(`${root}sys/devices`).filter((a) => !seen.has(a));
    if (fresh.length === 0) break;
    fresh.forEach((a) => seen.add(a));
    asked += fresh.length;
    // -q: an alias no module of the initrd serves is not an error.
    await run('modprobe', ['-a', '-q', ...fresh], { allowFail: true, quiet: true, timeout: 120_000 });
  }
  const always = ALWAYS_MODULES.filter((m) => carried.has(m));
  const r = await run('modprobe', ['-a', ...always], { allowFail: true, quiet: true, timeout: 120_000 });
  if (r.code !== 0) report.warn(`some modules did not load: ${r.stderr.trim().split('\n').slice(-3).join('; ')}`);
  return asked + always.length;
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
