// Loads the kernel modules shipped in the initrd (disks, NICs, filesystems, RAID, device-mapper), then lets devices settle.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, release } from 'node:os';
import type { Runner } from '../exec/runner.js';
import { readSysfs } from '../exec/tools.js';
import type { Reporter } from '../report/events.js';
import { sleepAbortable } from '../net/retry.js';

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
 * The driver each virtio PCI device's own virtio device needs, by PCI device id (vendor 1AF4; legacy ids 1000-1004,
 * modern 1040 + virtio type): virtio_pci only brings a virtio bus device, whose driver a second modprobe would load
 * once that device shows. Named in the same modprobe as virtio_pci instead: a process start less (0.1 s emulated).
 */
const VIRTIO_CHILD: Readonly<Record<string, string>> = {
  '1000': 'virtio_net', '1041': 'virtio_net',
  '1001': 'virtio_blk', '1042': 'virtio_blk',
  '1004': 'virtio_scsi', '1048': 'virtio_scsi',
};

/** The virtio drivers the virtio PCI devices among these modaliases will need (see VIRTIO_CHILD). */
export function virtioChildModules(aliases: readonly string[]): string[] {
  const out = new Set<string>();
  for (const a of aliases) {
    const m = /^pci:v00001AF4d0000([0-9A-F]{4})/i.exec(a);
    const child = m ? VIRTIO_CHILD[m[1]!.toUpperCase()] : undefined;
    if (child) out.add(child);
  }
  return [...out];
}

/** Those of ALWAYS_MODULES the network needs: loaded with the NIC drivers. */
const NETWORK_MODULES: readonly string[] = ['af_packet'];

/**
 * Every distinct modalias of the devices on a bus (/sys/bus/<bus>/devices/<dev>/modalias): what the hardware present
 * asks for, read from a few hundred files instead of a walk of all /sys/devices (slow emulated). unboundOnly: only
 * of the devices no driver has yet.
 */
export function collectModaliases(sysBus = '/sys/bus', opts: { unboundOnly?: boolean } = {}): string[] {
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
      // A device a driver already has needs none (the later passes: a first pass asks for every device, as udev does).
      if (opts.unboundOnly && existsSync(`${sysBus}/${bus}/devices/${d}/driver`)) continue;
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

export interface LoadOptions {
  root?: string;
  /**
   * Called once the NIC drivers are loaded (the drivers of the PCI network controllers, then those their buses asked
   * for, such as virtio_net under virtio_pci), while the rest still loads: the network can start. Called at once when
   * no PCI network controller is present (a NIC on another bus comes with the rest).
   */
  onNetworkDrivers?: () => void | Promise<void>;
  /** CPUs to plan for (default: os.availableParallelism()). */
  cpus?: number;
}

/**
 * Loads the drivers for the hardware present (by modalias, as udev would), then the few modules every install needs,
 * saying when the NICs' drivers are in (onNetworkDrivers) so the network can start while disk controllers still
 * probe their buses (most of a second under emulation). On one CPU, one modprobe run with the NICs' drivers first
 * in it (af_packet, and virtio_net for a virtio NIC, which virtio_pci alone would only ask for later): the network is
 * said ready once every PCI network controller has its driver and a link. On several, the NICs' modprobe and the
 * rest's run at once (on one emulated CPU that made the NIC ready later, and each process start costs a tenth of a
 * second there). Two modprobe runs of one module at once are safe: the kernel loads it once and the other run sees
 * it loaded. Then the modaliases of new devices no driver has yet (a bus driver such as ata_piix brings new devices)
 * are loaded until none is left, at most three more times. Loading every module of the initrd instead took 10-14 s
 * under emulation. Returns the number of modprobe requests.
 */
export async function loadInitrdModules(run: Runner, report: Reporter, opts: LoadOptions = {}): Promise<number> {
  const root = opts.root ?? '/';
  const dep = `${root}lib/modules/${release()}/modules.dep`;
  if (!existsSync(dep)) {
    report.info(`no ${dep}: no modules to load (everything built in?)`);
    await opts.onNetworkDrivers?.();
    return 0;
  }
  const carried = new Set(moduleNamesFromDep(readFileSync(dep, 'utf8')));
  const always = ALWAYS_MODULES.filter((m) => carried.has(m));
  let asked = always.length;
  const seen = new Set<string>();
  // After the first pass, only devices no driver has: a virtio device whose driver came along needs no pass of its own.
  const fresh = (unboundOnly = true) => collectModaliases(`${root}sys/bus`, { unboundOnly }).filter((a) => !seen.has(a));
  /** One modprobe run: the module names and aliases of each group, in order (a NIC group first loads first). */
  const probe = async (label: string, groups: Array<{ names?: readonly string[]; aliases?: readonly string[] }>): Promise<void> => {
    const aliases = groups.flatMap((g) => g.aliases ?? []);
    aliases.forEach((a) => seen.add(a));
    asked += aliases.length;
    const argv = groups.flatMap((g) => [...(g.names ?? []), ...(g.aliases ?? [])]);
    if (argv.length === 0) return;
    const t0 = Date.now();
    // -q: an alias no module of the initrd serves is not an error (an always-needed module missing is, below).
    await run('modprobe', ['-a', '-q', ...argv], { allowFail: true, quiet: true, timeout: 120_000 });
    const kinds = [...new Set(aliases.map((a) => a.split(':')[0]))].join(' ');
    report.info(`boot: modprobe ${label}: ${aliases.length} alias(es) (${kinds || 'none'}) in ${((Date.now() - t0) / 1000).toFixed(2)} s`);
  };
  const first = fresh(false);
  // The PCI network controllers (class 02: Ethernet, InfiniBand and the rest): their drivers go first.
  const controllers = networkControllers(root);
  const nicAliases = new Set(controllers.map((d) => readSysfs(`${root}sys/bus/pci/devices/${d}/modalias`)));
  const nics = first.filter((a) => nicAliases.has(a));
  const rest = first.filter((a) => !nicAliases.has(a));
  // DHCP's raw socket needs af_packet (built into most kernels) as much as a NIC driver; a virtio NIC, virtio_net.
  const nicGroup = { names: [...always.filter((m) => NETWORK_MODULES.includes(m)), ...virtioChildModules(nics).filter((m) => carried.has(m))], aliases: nics };
  const restGroup = { names: [...always.filter((m) => !NETWORK_MODULES.includes(m)), ...virtioChildModules(rest).filter((m) => carried.has(m))], aliases: rest };
  let networkSaid = false;
  const sayNetwork = async () => {
    if (networkSaid) return;
    networkSaid = true;
    await opts.onNetworkDrivers?.();
  };
  if ((opts.cpus ?? availableParallelism()) > 1) {
    // Several CPUs: the NICs' modprobe and the rest's at once.
    const others = probe('first pass', [restGroup]);
    await probe('NIC drivers', [nicGroup]);
    // A NIC behind a bus of its own whose driver is not known here (no link yet): what that bus brought, now.
    if (nics.length > 0 && networkLinks(root).length === 0) await probe('NIC buses', [{ aliases: fresh().filter((a) => !rest.includes(a)) }]);
    await sayNetwork();
    await others;
  } else {
    // One CPU: one modprobe, the NICs' first in it (each process start costs a tenth of a second emulated); the
    // network is said ready as soon as every NIC has its driver and link, while the rest still loads.
    const stop = new AbortController();
    const watch = (async () => {
      while (!stop.signal.aborted && !nicsReady(root, controllers)) await sleepAbortable(25, stop.signal).catch(() => undefined);
      if (!stop.signal.aborted) await sayNetwork();
    })();
    await probe('first pass', [nicGroup, restGroup]);
    stop.abort();
    await watch;
    await sayNetwork();
  }
  for (let pass = 2; pass <= 4; pass++) {
    const more = fresh();
    if (more.length === 0) break;
    await probe(`pass ${pass}`, [{ aliases: more }]);
  }
  const loaded = new Set(loadedModules(root));
  const missing = always.filter((m) => !loaded.has(m) && !builtinNames(root).has(m));
  if (missing.length > 0) {
    const r = await run('modprobe', ['-a', ...missing], { allowFail: true, quiet: true, timeout: 120_000 });
    if (r.code !== 0) report.warn(`some modules did not load: ${r.stderr.trim().split('\n').slice(-3).join('; ')}`);
  }
  return asked;
}

/** The PCI network controllers (class 02xxxx) present: their /sys/bus/pci/devices entries. */
export function networkControllers(root = '/'): string[] {
  const dir = `${root}sys/bus/pci/devices`;
  try {
    return readdirSync(dir).filter((d) => readSysfs(`${dir}/${d}/class`)?.startsWith('0x02'));
  } catch {
    return [];
  }
}

/** Every PCI network controller has its driver, and there are at least as many network links (but lo) as them. */
export function nicsReady(root: string, controllers: readonly string[]): boolean {
  if (controllers.length === 0) return true;
  return controllers.every((d) => existsSync(`${root}sys/bus/pci/devices/${d}/driver`)) && networkLinks(root).length >= controllers.length;
}

/** The network links the kernel has now, but lo (<root>sys/class/net). */
function networkLinks(root: string): string[] {
  try {
    return readdirSync(`${root}sys/class/net`).filter((n) => n !== 'lo');
  } catch {
    return [];
  }
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
