// Maps the layout's disks onto found disks: the allowed (--disk) list in order, stable selectors, DISKORDER or autodetect.

import type { Problem } from '../errors.js';
import { findDevice, type BlockDevice } from '../disk/block-device.js';
import type { LayoutDisk } from './layout-types.js';

/** Disk name prefixes tried when no DISKORDER is given. */
export const DEFAULT_DISKORDER = ['sd', 'nvme', 'vd', 'xvd', 'hd', 'cciss'];

/** A layout disk and the found disk it was mapped onto. */
export interface DiskMatch {
  layout: LayoutDisk;
  device: BlockDevice;
}

/** Compares device names naturally: digit runs as numbers, letter runs shorter-first (sdz < sdaa). */
export function compareDiskNames(a: string, b: string): number {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i]!;
    const y = rb[i]!;
    if (/^\d/.test(x) && /^\d/.test(y)) {
      if (Number(x) !== Number(y)) return Number(x) - Number(y);
    } else if (x !== y) {
      return x.length !== y.length ? x.length - y.length : x < y ? -1 : 1;
    }
  }
  return ra.length - rb.length;
}

/** Whole disks autodetect would use, in DISKORDER: no CD-ROMs, removable media, loops or partitions. */
export function orderCandidateDisks(found: BlockDevice[], diskorder: string[]): BlockDevice[] {
  const disks = found.filter((d) => d.type === 'disk' && !d.removable);
  const out: BlockDevice[] = [];
  for (const prefix of diskorder) {
    const p = prefix.replace(/^\/dev\//, '');
    const hits = disks.filter((d) => d.name.startsWith(p) && !out.includes(d) && (p !== 'sd' || /^sd[a-z]+$/.test(d.name)));
    out.push(...hits.sort((a, b) => compareDiskNames(a.name, b.name)));
  }
  return out;
}

function hasSelector(d: LayoutDisk): boolean {
  return d.serial !== null || d.wwn !== null || d.sizeMinMiB !== null || /^\/dev\/disk\/by-/.test(d.dev);
}

function normWwn(w: string): string {
  return w.toLowerCase().replace(/^0x/, '').replace(/^naa\./, '');
}

function matchesSelector(l: LayoutDisk, d: BlockDevice): boolean {
  if (/^\/dev\/disk\/by-/.test(l.dev) && !d.links.includes(l.dev)) return false;
  if (l.serial !== null && d.serial !== l.serial) return false;
  if (l.wwn !== null && (d.wwn === null || normWwn(d.wwn) !== normWwn(l.wwn))) return false;
  if (l.sizeMinMiB !== null && d.sizeBytes < l.sizeMinMiB * 1024 * 1024) return false;
  return true;
}

/** Chooses the candidate disks, then assigns selector disks first and the rest in order. */
export function mapLayoutDisks(disks: LayoutDisk[], found: BlockDevice[], opts: { allowed: string[] | null; diskorder?: string[] }, source: string): { matches: DiskMatch[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const emit = (key: string, message: string) => problems.push({ source, key, message });
  let candidates: BlockDevice[];
  let how: string;
  if (opts.allowed) {
    candidates = [];
    for (const a of opts.allowed) {
      const d = findDevice(found, a);
      if (!d) emit('--disk', `${a} does not exist`);
      else if (d.type === 'part' || d.type === 'rom') emit('--disk', `${a} is a ${d.type === 'part' ? 'partition' : 'CD-ROM'}, not a whole disk`);
      else candidates.push(d);
    }
    how = `the --disk list (${opts.allowed.join(' ')})`;
  } else if (!opts.diskorder && disks.every((l) => !hasSelector(l) && orderCandidateDisks(found, DEFAULT_DISKORDER).some((d) => d.path === l.dev))) {
    // Every disk the layout names exists as named: use them as named, as SystemImager 4.3 did without DISKORDER.
    candidates = disks.map((l) => findDevice(found, l.dev)!);
    how = 'the names in the layout';
  } else {
    const order = opts.diskorder ?? DEFAULT_DISKORDER;
    candidates = orderCandidateDisks(found, order);
    how = `DISKORDER ${order.join(',')}`;
  }
  const free = [...candidates];
  const assigned = new Map<LayoutDisk, BlockDevice>();
  for (const l of disks.filter(hasSelector)) {
    const hit = free.find((d) => matchesSelector(l, d));
    if (!hit) {
      emit(`${l.at} dev`, `no disk among ${how} matches ${describeSelector(l)}`);
      continue;
    }
    free.splice(free.indexOf(hit), 1);
    assigned.set(l, hit);
  }
  for (const l of disks.filter((x) => !hasSelector(x))) {
    const next = free.shift();
    if (!next) {
      emit(`${l.at} dev`, `no disk left to map it onto: ${how} gives ${candidates.length} disk(s) for ${disks.length} layout disk(s)`);
      continue;
    }
    assigned.set(l, next);
  }
  const matches = disks.filter((l) => assigned.has(l)).map((l) => ({ layout: l, device: assigned.get(l)! }));
  return { matches, problems };
}

function describeSelector(l: LayoutDisk): string {
  const parts: string[] = [];
  if (/^\/dev\/disk\/by-/.test(l.dev)) parts.push(l.dev);
  if (l.serial !== null) parts.push(`serial=${l.serial}`);
  if (l.wwn !== null) parts.push(`wwn=${l.wwn}`);
  if (l.sizeMinMiB !== null) parts.push(`size_min=${l.sizeMinMiB} MiB`);
  return parts.join(' ');
}
