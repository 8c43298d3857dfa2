// The disk plan: the layout mapped onto real disks, with exact MiB ranges; plain JSON-able data for `si-agent plan`.

import type { LabelType, PartType } from './layout-types.js';

/** One partition with its exact MiB range on the real disk. */
export interface PlannedPartition {
  at: string;
  num: number;
  /** The real partition device, e.g. /dev/loop7p1. */
  device: string;
  /** The name the layout used, e.g. /dev/sda1. */
  layoutDevice: string;
  pType: PartType;
  /** gpt partition name (parted needs one; `primary` when the layout gives none). */
  name: string | null;
  flags: string[];
  id: string | null;
  /** parted's fs-type hint (sets the partition type): linux-swap, fat32, or null. */
  partedFsType: string | null;
  startMiB: number;
  /** Exclusive end, as parted's `mkpart ... START END` with `unit MiB`. */
  endMiB: number;
  sizeMiB: number;
}

/** One real disk to label and partition. */
export interface PlannedDisk {
  at: string;
  layoutDev: string;
  device: string;
  labelType: LabelType;
  sizeMiB: number;
  parts: PlannedPartition[];
}

/** One md array to create. */
export interface PlannedRaid {
  at: string;
  device: string;
  level: string;
  raidDevices: number;
  spareDevices: number;
  members: string[];
  layout: string | null;
  chunkSize: string | null;
  rounding: string | null;
  metadata: string;
  lvmGroup: string | null;
  /** Estimated usable size (md metadata and data offset taken off). */
  sizeMiB: number;
}

/** One logical volume to create. */
export interface PlannedLv {
  at: string;
  name: string;
  device: string;
  /** Fixed size, rounded up to whole extents; null for `*` or a percentage. */
  sizeMiB: number | null;
  /** Percentage of the VG, or 100 for `*` (the rest: 100%FREE). */
  percent: number | null;
  grow: boolean;
  options: string[];
}

/** One volume group to create over its PVs. */
export interface PlannedVg {
  at: string;
  name: string;
  pvs: string[];
  peSizeMiB: number;
  maxLogVols: number | null;
  maxPhysVols: number | null;
  /** Estimated size: whole extents over all PVs. */
  sizeMiB: number;
  lvs: PlannedLv[];
}

/** One filesystem to make (or keep, format=no). */
export interface PlannedFilesystem {
  at: string;
  line: number;
  device: string;
  fs: string;
  mkfsOpts: string[];
  label: string | null;
  uuid: string | null;
  mp: string | null;
  format: boolean;
}

/** One mount under the sysroot. */
export interface PlannedMount {
  device: string;
  mp: string;
  fs: string;
  options: string[];
}

/** One fstab line (or comment) of the installed system. */
export interface FstabLine {
  line: number;
  text: string;
  /**
   * The real device holding this entry's filesystem, when the layout names it by a device path (e.g. /dev/sda4),
   * a name that need not hold on the installed system: once the filesystem exists the entry names it by UUID.
   */
  device?: string;
  /** The device name the layout gave that entry (kept as a comment when it is named by UUID). */
  layoutDevice?: string;
}

/** The whole checked disk plan. */
export interface DiskPlan {
  source: string;
  /** The only disks apply may write (the --disk list), or null when mapped by DISKORDER/autodetect. */
  allowed: string[] | null;
  disks: PlannedDisk[];
  raids: PlannedRaid[];
  vgs: PlannedVg[];
  filesystems: PlannedFilesystem[];
  /** In mount order: `/` first, then by depth of the mount point. */
  mounts: PlannedMount[];
  fstab: FstabLine[];
  /** Layout device name -> real device name (disks, partitions, md arrays, LVs). */
  deviceMap: Record<string, string>;
}
