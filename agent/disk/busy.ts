// What is in use: mounted, swap, held by md/dm, or holding the running root; parsed purely from /proc and /sys text.

import { readdir, readFile, stat } from 'node:fs/promises';
import { listSubtree, type BlockDevice } from './block-device.js';

/** A device that must not be written, and why. */
export interface BusyDevice {
  device: string;
  reason: string;
}

/** The raw inputs findBusyDevices works from. */
export interface BusyInputs {
  mounts: string;
  swaps: string;
  /** kernel name -> names of its holders (from /sys/block/X/holders and /sys/block/X/Y/holders). */
  holders: Record<string, string[]>;
  /** maj:min of the filesystem holding `/`, when known. */
  rootMajMin: string | null;
}

/** Lists busy devices from mounts, swaps, holders, the root device and lsblk's own mountpoints. */
export function findBusyDevices(devices: BlockDevice[], inputs: BusyInputs): BusyDevice[] {
  const out: BusyDevice[] = [];
  for (const line of inputs.mounts.split('\n')) {
    const [src, mp] = line.split(/\s+/);
    if (src?.startsWith('/dev/') && mp) out.push({ device: src, reason: `mounted on ${unescapeMount(mp)}` });
  }
  for (const line of inputs.swaps.split('\n').slice(1)) {
    const [src] = line.split(/\s+/);
    if (src?.startsWith('/dev/')) out.push({ device: src, reason: 'in use as swap' });
  }
  for (const [name, holders] of Object.entries(inputs.holders)) {
    if (holders.length > 0) out.push({ device: `/dev/${name}`, reason: `held by ${holders.join(', ')}` });
  }
  for (const d of devices.flatMap(listSubtree)) {
    for (const m of d.mountpoints) out.push({ device: d.path, reason: m === '[SWAP]' ? 'in use as swap' : `mounted on ${m}` });
    if (inputs.rootMajMin && d.majMin === inputs.rootMajMin) out.push({ device: d.path, reason: 'holds the running root filesystem' });
  }
  const seen = new Set<string>();
  return out.filter((b) => {
    const k = `${b.device}\0${b.reason}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Why a disk (with its partitions and everything built on them) is busy; empty when it is free. */
export function busyReasonsForDisk(disk: BlockDevice, busy: BusyDevice[]): string[] {
  const names = new Set(listSubtree(disk).flatMap((d) => [d.path, `/dev/${d.name}`, ...d.links]));
  const reasons = busy.filter((b) => names.has(b.device)).map((b) => `${b.device} ${b.reason}`);
  return [...new Set(reasons)];
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Reads /proc/self/mounts, /proc/swaps, the holders in /sys/block and the root's device number. */
export async function readBusyInputs(paths: { procMounts: string; sysBlock: string; procSwaps?: string } ): Promise<BusyInputs> {
  const mounts = await readFile(paths.procMounts, 'utf8').catch(() => '');
  const swaps = await readFile(paths.procSwaps ?? paths.procMounts.replace(/self\/mounts$/, 'swaps'), 'utf8').catch(() => '');
  const holders: Record<string, string[]> = {};
  const blocks = await readdir(paths.sysBlock).catch(() => [] as string[]);
  for (const b of blocks) {
    holders[b] = await readdir(`${paths.sysBlock}/${b}/holders`).catch(() => []);
    const entries = await readdir(`${paths.sysBlock}/${b}`).catch(() => [] as string[]);
    for (const e of entries.filter((x) => x.startsWith(b))) {
      holders[e] = await readdir(`${paths.sysBlock}/${b}/${e}/holders`).catch(() => []);
    }
  }
  let rootMajMin: string | null = null;
  try {
    const dev = (await stat('/')).dev;
    rootMajMin = `${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | (Math.floor(dev / 4096) & ~0xff)}`;
  } catch {
    /* unknown */
  }
  return { mounts, swaps, holders, rootMajMin };
}
