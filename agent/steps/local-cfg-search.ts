// Reads local.cfg from LAST_ROOT's root and from removable media (SPEC 2): each device mounted read-only, read, unmounted.

import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Runner } from '../exec/runner.js';
import { fsModules } from '../disk/kernel-modules.js';
import type { Reporter } from '../report/events.js';
import { readSysfs, systemPaths } from '../exec/tools.js';
import { deviceSourceLabel, MEDIA_FS, parseDeviceSpec, removableCandidates, type BlockFacts, type DeviceSpec } from '../params/local-cfg-places.js';

export interface SearchIo {
  run: Runner;
  report: Reporter;
  /** Scratch directory: the mount point is made (and removed) inside it. */
  workdir: string;
}

export interface FoundCfg {
  /** The "file" of the values' sources: `LAST_ROOT:/dev/sda2`, `removable:/dev/sdb1`. */
  file: string;
  text: string;
}

/** blkid's fields of a device, read from its superblock (-p: no cache), {} when it holds nothing blkid knows. */
async function probeFs(io: SearchIo, dev: string): Promise<Record<string, string>> {
  const r = await io.run('blkid', ['-p', '-o', 'export', dev], { allowFail: true, quiet: true, timeout: 30_000 });
  const out: Record<string, string> = {};
  for (const l of r.stdout.split('\n')) {
    const i = l.indexOf('=');
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

/** The device path a LAST_ROOT spec names: the path itself, or blkid's answer for UUID=/LABEL=; undefined when none. */
async function resolveSpec(io: SearchIo, spec: DeviceSpec): Promise<string | undefined> {
  if (spec.kind === 'path') return existsSync(spec.path) ? spec.path : undefined;
  const r = await io.run('blkid', ['-l', '-o', 'device', '-t', `${spec.kind.toUpperCase()}=${spec.value}`], { allowFail: true, quiet: true, timeout: 30_000 });
  const dev = r.code === 0 ? r.stdout.trim().split('\n')[0] : undefined;
  return dev ? dev : undefined;
}

/**
 * Mounts dev read-only on a fresh directory, reads `local.cfg` at its root (undefined when absent), and always
 * unmounts. ext filesystems are mounted with noload: a root that was not cleanly shut down stays untouched.
 */
export async function readCfgFromDevice(io: SearchIo, dev: string, fsType: string): Promise<string | undefined> {
  const mnt = join(io.workdir, `local-cfg-mnt-${process.pid}`);
  mkdirSync(mnt, { recursive: true });
  const opts = /^ext[234]$/.test(fsType) ? 'ro,noload' : 'ro';
  await loadFsModules(io, fsType);
  try {
    const m = await io.run('mount', ['-t', fsType, '-o', opts, dev, mnt], { allowFail: true, timeout: 60_000 });
    if (m.code !== 0) {
      io.report.warn(`local.cfg search: cannot mount ${dev} (${fsType}) read-only: ${(m.stderr || m.stdout).trim().split('\n')[0] ?? ''}`);
      return undefined;
    }
    try {
      const p = join(mnt, 'local.cfg');
      return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
    } finally {
      await io.run('umount', [mnt], { allowFail: true, timeout: 60_000 });
    }
  } finally {
    try {
      rmdirSync(mnt);
    } catch {
      /* still mounted (umount failed and said so) */
    }
  }
}

/** Filesystem types the kernel can mount now (/proc/filesystems). */
function kernelFilesystems(): Set<string> {
  try {
    return new Set(readFileSync('/proc/filesystems', 'utf8').split('\n').map((l) => l.split('\t').pop()!.trim()).filter(Boolean));
  } catch {
    return new Set();
  }
}

/**
 * Loads what mounting fsType needs, only when the kernel cannot mount it yet: blkid finds the type without them, and
 * loading ext4 up front cost most of a second of every emulated boot. Absent or built-in modules are fine.
 */
export async function loadFsModules(io: SearchIo, fsType: string): Promise<void> {
  const mods = fsModules(fsType);
  if (mods.length === 0 || kernelFilesystems().has(fsType)) return;
  await io.run('modprobe', ['-a', '-q', ...mods], { allowFail: true, quiet: true, timeout: 60_000 });
}

/** local.cfg at the root of LAST_ROOT; a device that is missing, unmountable or without local.cfg is logged, not fatal. */
export async function readLastRootCfg(io: SearchIo, value: string, setBy: string): Promise<FoundCfg | undefined> {
  const spec = parseDeviceSpec(value);
  if (!spec) {
    io.report.warn(`LAST_ROOT=${value} (${setBy}) names no device (want /dev/NAME, UUID=... or LABEL=...): not read`);
    return undefined;
  }
  const dev = await resolveSpec(io, spec);
  if (!dev) {
    io.report.warn(`LAST_ROOT=${value} (${setBy}): no such device here: no local.cfg from it`);
    return undefined;
  }
  const fs = (await probeFs(io, dev)).TYPE;
  if (!fs) {
    io.report.warn(`LAST_ROOT=${value} (${setBy}): ${dev} holds no filesystem blkid knows: no local.cfg from it`);
    return undefined;
  }
  const text = await readCfgFromDevice(io, dev, fs);
  if (text === undefined) {
    io.report.info(`LAST_ROOT=${value}: ${dev} (${fs}) has no /local.cfg`);
    return undefined;
  }
  return { file: deviceSourceLabel('LAST_ROOT', dev), text };
}

/** Whether a USB mass-storage interface (class 08) is present: its disk appears a while after its driver loads. */
export function usbStoragePresent(sysUsb = '/sys/bus/usb/devices'): boolean {
  try {
    return readdirSync(sysUsb).some((d) => readSysfs(join(sysUsb, d, 'bInterfaceClass')) === '08');
  } catch {
    return false;
  }
}

/** What sysfs (SI_ROOT-prefixed for tests) says of every block device and partition. */
export function readBlockFacts(sysBlock = systemPaths().sysBlock): BlockFacts[] {
  if (!existsSync(sysBlock)) return [];
  const out: BlockFacts[] = [];
  for (const disk of readdirSync(sysBlock)) {
    const dir = join(sysBlock, disk);
    let devpath = '';
    try {
      devpath = readlinkSync(join(dir, 'device'));
    } catch {
      try {
        devpath = readlinkSync(dir);
      } catch {
        /* no link: not on a bus */
      }
    }
    const removable = readSysfs(join(dir, 'removable')) === '1';
    const usb = /\/usb\d*\//.test(devpath);
    const parts = readdirSync(dir).filter((n) => n.startsWith(disk) && existsSync(join(dir, n, 'partition')));
    out.push({ name: disk, disk, removable, usb, sectors: Number(readSysfs(join(dir, 'size')) ?? 0), hasPartitions: parts.length > 0 });
    for (const p of parts) out.push({ name: p, disk, removable, usb, sectors: Number(readSysfs(join(dir, p, 'size')) ?? 0), hasPartitions: false });
  }
  return out;
}

/**
 * Whether the drive says it holds no medium (an empty CD drive: ENOMEDIUM on open). Opening it is all blkid would
 * do with it, without a process start (0.2 s and more of an emulated boot with an empty drive). The open reads
 * nothing (a read of an empty drive fills the console with I/O errors).
 */
const LINUX_ENOMEDIUM = 123;

export async function noMedium(dev: string, timeoutMs = 30_000): Promise<boolean> {
  // A drive that does not answer in time is looked at as one with a medium: blkid then has its own time limit.
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs).unref()));
  try {
    return await Promise.race([late, open(dev, 'r').then(async (h) => (await h.close(), false))]);
  } catch (err) {
    // libuv has no name for ENOMEDIUM: Node reports errno -123 (Linux) as an unknown system error.
    return (err as NodeJS.ErrnoException).errno === -LINUX_ENOMEDIUM || (err as NodeJS.ErrnoException).code === 'ENOMEDIUM';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Each removable candidate's answer to noMedium, asked once. In the initrd the search watches for candidates while the
 * drivers still load and asks each as it appears (an emulated CD drive takes a good part of a second to answer);
 * the search then takes the answers.
 */
export class MediumProbe {
  private readonly answers = new Map<string, Promise<boolean>>();

  ask(dev: string): Promise<boolean> {
    let answer = this.answers.get(dev);
    if (!answer) {
      answer = noMedium(dev);
      this.answers.set(dev, answer);
    }
    return answer;
  }

  /** Asks every candidate that shows up, every 50 ms, until `until` settles. */
  async watch(until: Promise<unknown>, sysBlock?: string): Promise<void> {
    let done = false;
    void until.finally(() => (done = true));
    while (!done) {
      // Any removable disk as soon as its node is there: its size may still read 0 while the drive is probed.
      for (const b of readBlockFacts(sysBlock)) if ((b.removable || b.usb) && b.name === b.disk && existsSync(`/dev/${b.name}`)) void this.ask(`/dev/${b.name}`);
      await Promise.race([until.catch(() => undefined), new Promise((r) => setTimeout(r, 50))]);
    }
  }
}

/** The first removable or USB device whose filesystem holds local.cfg at its root (SPEC 2), logging what was looked at. */
export async function readRemovableCfg(io: SearchIo, blocks: readonly BlockFacts[] = readBlockFacts(), media = new MediumProbe()): Promise<FoundCfg | undefined> {
  for (const name of removableCandidates(blocks)) {
    const dev = `/dev/${name}`;
    if (!existsSync(dev)) continue;
    if (await media.ask(dev)) {
      io.report.info(`local.cfg search: ${dev} holds no medium`);
      continue;
    }
    const fs = (await probeFs(io, dev)).TYPE;
    if (!fs || !MEDIA_FS.has(fs)) continue;
    const text = await readCfgFromDevice(io, dev, fs);
    if (text !== undefined) return { file: deviceSourceLabel('removable', dev), text };
    io.report.debug(`removable ${dev} (${fs}) has no local.cfg`);
  }
  return undefined;
}
