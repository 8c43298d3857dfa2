// Block devices as the planner sees them: lsblk's JSON parsed purely into a tree, and lookups over it.

/** One block device as the planner sees it; children are partitions and md/dm devices built on it. */
export interface BlockDevice {
  name: string;
  path: string;
  sizeBytes: number;
  /** disk, loop, rom, part, raid1, lvm, crypt, ... as lsblk says. */
  type: string;
  removable: boolean;
  ro: boolean;
  serial: string | null;
  wwn: string | null;
  model: string | null;
  majMin: string | null;
  fstype: string | null;
  label: string | null;
  uuid: string | null;
  mountpoints: string[];
  /** Stable names pointing at this device (/dev/disk/by-id/..., /dev/disk/by-path/...). */
  links: string[];
  children: BlockDevice[];
}

type Raw = Record<string, unknown>;

/** Parses `lsblk -J -b -O` output into a device tree (works with old string-typed and new typed lsblk JSON). */
export function parseLsblkJson(text: string, links: Record<string, string[]> = {}): BlockDevice[] {
  const doc = JSON.parse(text) as { blockdevices?: Raw[] };
  return (doc.blockdevices ?? []).map((d) => toDevice(d, links));
}

function toDevice(d: Raw, links: Record<string, string[]>): BlockDevice {
  const name = str(d['name']) ?? str(d['kname']) ?? '?';
  const path = str(d['path']) ?? `/dev/${name}`;
  const mps = Array.isArray(d['mountpoints']) ? (d['mountpoints'] as unknown[]) : [d['mountpoint']];
  const kids = Array.isArray(d['children']) ? (d['children'] as Raw[]) : [];
  return {
    name, path,
    sizeBytes: Number(d['size'] ?? 0),
    type: str(d['type']) ?? 'unknown',
    removable: bool(d['rm']), ro: bool(d['ro']),
    serial: str(d['serial']), wwn: str(d['wwn']), model: str(d['model']),
    majMin: str(d['maj:min']), fstype: str(d['fstype']), label: str(d['label']), uuid: str(d['uuid']),
    mountpoints: mps.map(str).filter((m): m is string => m !== null),
    links: links[path] ?? [],
    children: kids.map((k) => toDevice(k, links)),
  };
}

function str(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v).trim();
  return s === '' ? null : s;
}

function bool(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 'true';
}

/** Every device in the tree under (and including) a device, depth first. */
export function listSubtree(dev: BlockDevice): BlockDevice[] {
  return [dev, ...dev.children.flatMap(listSubtree)];
}

/** Finds a device anywhere in the forest by path, name or link. */
export function findDevice(devices: BlockDevice[], ref: string): BlockDevice | null {
  for (const d of devices.flatMap(listSubtree)) {
    if (d.path === ref || `/dev/${d.name}` === ref || d.links.includes(ref)) return d;
  }
  return null;
}
