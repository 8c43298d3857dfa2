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

/**
 * Every distinct modalias of the devices on a bus (/sys/bus/<bus>/devices/<dev>/modalias): what the hardware present
 * asks for, read from a few hundred files instead of a walk of all /sys/devices (slow emulated).
 */
export function collectModaliases(sysBus = '/sys/bus'): string[] {
  const found = new Set<string>();
  let buses: string[];
  try {
    buses = readdirSync(sysBus);
  } catch {
    return [];
  }
  for (const bus of buses) {
    let devices: string[];
    try {
      devices = readdirSync(`${sysBus}/${bus}/devices`);
    } catch {
      continue;
    }
    for (const d of devices) {
      try {
        const a = readFileSync(`${sysBus}/${bus}/devices/${d}/modalias`, 'utf8').trim();
        if (a) found.add(a);
      } catch {
        /* no modalias (or unreadable): nothing to load for it */
      }
    }
  }
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
  // The always-needed modules go with the first pass: one modprobe process less (each start is slow emulated).
  const always = ALWAYS_MODULES.filter((m) => carried.has(m));
  let asked = always.length;
  const seen = new Set<string>();
  for (let pass = 0; pass < 3; pass++) {
    const fresh = collectModaliases(`${root}sys/bus`).filter((a) => !seen.has(a));
    if (fresh.length === 0) break;
    fresh.forEach((a) => seen.add(a));
    asked += fresh.length;
    // -q: an alias no module of the initrd serves is not an error (an always-needed module missing is, below).
    await run('modprobe', ['-a', '-q', ...(pass === 0 ? always : []), ...fresh], { allowFail: true, quiet: true, timeout: 120_000 });
  }
  const loaded = new Set(loadedModules(root));
  const missing = always.filter((m) => !loaded.has(m) && !builtinNames(root).has(m));
  if (missing.length > 0) {
    const r = await run('modprobe', ['-a', ...missing], { allowFail: true, quiet: true, timeout: 120_000 });
    if (r.code !== 0) report.warn(`some modules did not load: ${r.stderr.trim().split('\n').slice(-3).join('; ')}`);
  }
  return asked;
}

/** Names of the modules loaded now, from <root>proc/modules, in its order. */
export function loadedModules(root = '/'): string[] {
  try {
    return readFileSync(`${root}proc/modules`, 'utf8').split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
  } catch {
    return [];
  }
}

/** Modules built into the running kernel (modules.builtin), by canonical name. */
function builtinNames(root: string): Set<string> {
  try {
    return new Set(moduleNamesFromDep(readFileSync(`${root}lib/modules/${release()}/modules.builtin`, 'utf8')));
  } catch {
    return new Set();
  }
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
