// Finds block devices: lsblk's JSON plus the /dev/disk/by-id and by-path links.

import { readdir, readlink } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Runner } from '../exec/runner.js';
import { systemPaths } from '../exec/tools.js';
import { parseLsblkJson, type BlockDevice } from './block-device.js';
import { findBusyDevices, readBusyInputs, type BusyDevice } from './busy.js';

export type { BlockDevice } from './block-device.js';

/** Lists block devices with lsblk and attaches /dev/disk/by-* links. */
export async function probeBlockDevices(run: Runner, devRoot = '/dev'): Promise<BlockDevice[]> {
  const res = await run('lsblk', ['-J', '-b', '-O'], { quiet: true, timeout: 30_000 });
  return parseLsblkJson(res.stdout, await readDiskLinks(devRoot));
}

/** Reads /dev/disk/by-id and by-path: device path -> its link paths. Missing directories (no udev) give nothing. */
export async function readDiskLinks(devRoot = '/dev'): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const kind of ['by-id', 'by-path']) {
    const dir = `${devRoot}/disk/${kind}`;
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      try {
        const target = `/dev/${basename(resolve(dir, await readlink(`${dir}/${n}`)))}`;
        (out[target] ??= []).push(`/dev/disk/${kind}/${n}`);
      } catch {
        /* not a link */
      }
    }
  }
  return out;
}


/** Devices plus everything busy (mounts, swaps, holders, the root): the input of planDisks and of apply's last check. */
export async function probeDisksAndBusy(run: Runner): Promise<{ devices: BlockDevice[]; busy: BusyDevice[] }> {
  const devices = await probeBlockDevices(run);
  return { devices, busy: findBusyDevices(devices, await readBusyInputs(systemPaths())) };
}
