// The disk layout (autoinstallscript.conf) as typed, JSON-able data, before it is mapped onto real disks.

/** Partition table type. */
export type LabelType = 'msdos' | 'gpt';
/** msdos partition kind (gpt has only primary). */
export type PartType = 'primary' | 'extended' | 'logical';

/** A size: absolute MiB, a percentage (of the disk, or of the VG for LVs), or `*` (grow to the end). */
export type SizeSpec = { kind: 'mib'; mib: number } | { kind: 'percent'; percent: number } | { kind: 'grow' };

/** One <part> of a <disk>. */
export interface LayoutPart {
  /** How problems name this element, e.g. `<part num=3>` or `<disk dev=/dev/sdb> <part num=3>`. */
  at: string;
  num: number;
  size: SizeSpec;
  pType: PartType;
  pName: string | null;
  id: string | null;
  flags: string[];
  lvmGroup: string | null;
}

/** One <disk>: its label type, unit and parts, and optional stable selectors. */
export interface LayoutDisk {
  at: string;
  dev: string;
  labelType: LabelType;
  unit: string;
  parts: LayoutPart[];
  /** Stable selectors: match a found disk by these instead of by order. */
  serial: string | null;
  wwn: string | null;
  sizeMinMiB: number | null;
}

/** One <raid>: an md array over layout partitions. */
export interface LayoutRaid {
  at: string;
  name: string;
  level: string;
  raidDevices: number | null;
  spareDevices: number | null;
  rounding: string | null;
  layout: string | null;
  chunkSize: string | null;
  lvmGroup: string | null;
  devices: string[];
}

/** One <lv> of an <lvm_group>. */
export interface LayoutLv {
  at: string;
  name: string;
  size: SizeSpec;
  options: string[];
}

/** One <lvm_group>: a volume group and its logical volumes. */
export interface LayoutVg {
  at: string;
  name: string;
  maxLogVols: number | null;
  maxPhysVols: number | null;
  /** MiB; null = LVM's default (4 MiB). */
  peSizeMiB: number | null;
  lvs: LayoutLv[];
}

/** One <fsinfo>: an fstab line, and the filesystem to make and mount. */
export interface LayoutFsinfo {
  at: string;
  line: number;
  realDev: string | null;
  mountDev: string | null;
  mp: string | null;
  fs: string | null;
  mkfsOpts: string[];
  options: string | null;
  dump: string | null;
  pass: string | null;
  /** false when format="no": the filesystem is kept as it is. */
  format: boolean;
  comment: string | null;
}

/** A whole parsed layout file. */
export interface Layout {
  source: string;
  disks: LayoutDisk[];
  raids: LayoutRaid[];
  lvmVersion: string | null;
  vgs: LayoutVg[];
  fsinfo: LayoutFsinfo[];
  devstyle: string | null;
}

/** Filesystems the agent can make. */
export const MAKEABLE_FS = ['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'vfat', 'msdos', 'fat', 'swap'] as const;

/** Whether the agent knows how to make this filesystem type. */
export function isMakeableFs(fs: string | null): boolean {
  return fs !== null && (MAKEABLE_FS as readonly string[]).includes(fs);
}

/** Partition flags parted understands (both label types); others are reported. */
export const KNOWN_FLAGS = [
  'boot', 'root', 'swap', 'hidden', 'raid', 'lvm', 'lba', 'legacy_boot', 'hp-service', 'palo', 'prep',
  'msftres', 'msftdata', 'irst', 'esp', 'chromeos_kernel', 'bls_boot', 'bios_grub', 'diag', 'atvrecv',
] as const;

/** Problem source for a layout file, as printed before the element: `layout disks-layouts/x.xml`. */
export function layoutSource(source: string): string {
  return `layout ${source}`;
}

/** Attribute name (lower case) -> value, as the layout XML parser reads an element. */
export type Attrs = Record<string, string>;
/** Records one layout problem: key is `<element ...> attribute`. */
export type Emit = (key: string, message: string) => void;
