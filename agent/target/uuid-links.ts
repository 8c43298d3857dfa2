// /dev/disk/by-uuid links for the target's filesystems, as udev would make them (an initrd has no udev; GRUB needs them for root=UUID=).

import { existsSync, mkdirSync, rmdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Runner } from '../exec/runner.js';

/** A filesystem UUID as blkid prints it (hex and dashes for ext/xfs/btrfs, XXXX-XXXX for vfat). */
export function isFsUuid(text: string): boolean {
  return /^[0-9A-Fa-f-]{4,64}$/.test(text);
}

/**
 * Makes devDir/disk/by-uuid/<uuid> -> <device> for each device that lacks one (the links udev
 * would have made), so grub-mkconfig's 10_linux sees the root UUID and writes root=UUID=.
 * Returns the undo, which removes only the links and directories made here.
 */
export async function ensureUuidLinks(run: Runner, devDir: string, devices: readonly string[]): Promise<() => void> {
  const madeDirs: string[] = [];
  const madeLinks: string[] = [];
  const byUuid = join(devDir, 'disk/by-uuid');
  for (const dir of [join(devDir, 'disk'), byUuid]) {
    if (!existsSync(dir)) {
      mkdirSync(dir);
      madeDirs.push(dir);
    }
  }
  for (const dev of new Set(devices)) {
    const r = await run('blkid', ['-s', 'UUID', '-o', 'value', dev], { allowFail: true, quiet: true });
    const uuid = r.stdout.trim();
    if (r.code !== 0 || !isFsUuid(uuid)) continue;
    const link = join(byUuid, uuid);
    try {
      symlinkSync(dev, link);
      madeLinks.push(link);
    } catch {
      /* udev (or a dangling leftover) already has this UUID: keep it */
    }
  }
  return () => {
    for (const l of madeLinks) rmSync(l, { force: true });
    for (const d of madeDirs.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        /* something else put links there since: leave it */
      }
    }
  };
}
