// Where local.cfg is looked for besides the initrd (SPEC 2): LAST_ROOT's root and removable media; pure decisions only.

import { naturalCompare } from '../natural-compare.js';
import type { Assignment } from './types.js';
import { parseBoolWord } from './validate.js';

/** A device named as LAST_ROOT is: a path, or a filesystem UUID or LABEL (blkid resolves those). */
export type DeviceSpec = { kind: 'path'; path: string } | { kind: 'uuid' | 'label'; value: string };

/** Parses a LAST_ROOT value (`/dev/sda2`, `sda2`, `UUID=...`, `LABEL=...`); undefined when it names nothing usable. */
export function parseDeviceSpec(text: string): DeviceSpec | undefined {
  const t = text.trim();
  const m = /^(UUID|LABEL)=(.+)$/i.exec(t);
  if (m) {
    const value = m[2]!.replace(/^(["'])(.*)\1$/, '$2');
    if (value === '' || /[\x00-\x1f/]/.test(value)) return undefined; // eslint-disable-line no-control-regex
    return { kind: m[1]!.toLowerCase() as 'uuid' | 'label', value };
  }
  if (/^\/dev\/[A-Za-z0-9_.:/+-]+$/.test(t) && !t.includes('..')) return { kind: 'path', path: t };
  if (/^[A-Za-z0-9_.:+-]+$/.test(t) && !t.startsWith('.')) return { kind: 'path', path: `/dev/${t}` };
  return undefined;
}

/** The "file" part of the sources of values read from a device: `LAST_ROOT:/dev/sda2`, `removable:/dev/sdb1`. */
export function deviceSourceLabel(kind: 'LAST_ROOT' | 'removable', device: string): string {
  return `${kind}:${device}`;
}

/** The last assignment of a name among layers (later layers win), or undefined. */
function lastValue(layers: readonly (readonly Assignment[])[], name: string): Assignment | undefined {
  let found: Assignment | undefined;
  for (const layer of layers) for (const a of layer) if (a.name === name) found = a;
  return found;
}

export interface SearchDecision {
  /** Look at LAST_ROOT's root and at removable media at all (not when SKIP_LOCAL_CFG is true on the command line). */
  search: boolean;
  /** The LAST_ROOT value and where it was set, when set. */
  lastRoot?: Assignment;
}

/**
 * Whether to search, and for which LAST_ROOT: LAST_ROOT from the initrd's local.cfg, overridden by the command line
 * (the command line always wins); SKIP_LOCAL_CFG on the command line skips both places, as it skips every local.cfg.
 */
export function decideSearch(cmdline: readonly Assignment[], initrdCfg: readonly Assignment[]): SearchDecision {
  const skip = lastValue([cmdline], 'SKIP_LOCAL_CFG');
  if (skip && parseBoolWord(skip.value) === true) return { search: false };
  const lastRoot = lastValue([initrdCfg, cmdline], 'LAST_ROOT');
  return lastRoot && lastRoot.value.trim() !== '' ? { search: true, lastRoot } : { search: true };
}

/** What sysfs says of one block device (whole disk or partition). */
export interface BlockFacts {
  /** Kernel name: sdb, sdb1, sr0. */
  name: string;
  /** The disk it belongs to (itself for a whole disk). */
  disk: string;
  /** /sys/block/<disk>/removable is 1. */
  removable: boolean;
  /** The disk's device path in sysfs goes through a USB bus. */
  usb: boolean;
  /** Size in 512-byte sectors (0: no medium). */
  sectors: number;
  /** True for a whole disk that has partitions (its filesystem, if any, is on those). */
  hasPartitions: boolean;
}

/** Filesystems a local.cfg may sit on (SPEC 2: vfat, iso9660; ext too, as sticks are made either way). */
export const MEDIA_FS: ReadonlySet<string> = new Set(['vfat', 'msdos', 'iso9660', 'ext2', 'ext3', 'ext4']);

/** Removable or USB block devices that may hold a filesystem, in name order (sdb before sdb1 before sdc). */
export function removableCandidates(blocks: readonly BlockFacts[]): string[] {
  return blocks
    .filter((b) => (b.removable || b.usb) && b.sectors > 0 && !(b.name === b.disk && b.hasPartitions))
    .map((b) => b.name)
    .sort(naturalCompare);
}
