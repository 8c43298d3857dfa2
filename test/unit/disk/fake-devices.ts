// Fake lsblk device trees for planner tests.

import type { BlockDevice } from '../../../agent/disk/block-device.js';

/** A whole disk of `mib` MiB named `name` (e.g. sda, loop7), with overrides. */
export function fakeDisk(name: string, mib: number, extra: Partial<BlockDevice> = {}): BlockDevice {
  return {
    name, path: `/dev/${name}`, sizeBytes: mib * 1024 * 1024, type: name.startsWith('loop') ? 'loop' : 'disk',
    removable: false, ro: false, serial: null, wwn: null, model: null, majMin: null, fstype: null, label: null, uuid: null,
    mountpoints: [], links: [], children: [], ...extra,
  };
}

/** A partition child of a fake disk. */
export function fakePart(name: string, mib: number, extra: Partial<BlockDevice> = {}): BlockDevice {
  return fakeDisk(name, mib, { type: 'part', ...extra });
}
