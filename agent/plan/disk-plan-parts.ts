// Partition geometry: exact MiB ranges for a layout disk on a disk of a given size (msdos EBR gaps, gpt backup header).

import { partitionDevice } from '../disk/partition-name.js';
import type { Emit } from './layout-xml-elements.js';
import type { LayoutDisk, LayoutPart } from './layout-types.js';
import type { PlannedPartition } from './disk-plan-types.js';

/** msdos partition type ids that parted 3.5 can only set through a flag (it has no `type` command). */
const ID_FLAGS: Record<string, string> = { '8e': 'lvm', fd: 'raid', ef: 'esp' };
/** msdos ids that parted sets through the fs-type hint of mkpart. */
const ID_FS: Record<string, string> = { '82': 'linux-swap', b: 'fat32', c: 'fat32', '6': 'fat16', e: 'fat16' };

/** parted fs-type hints that set the partition type for a filesystem (the rest default to Linux data). */
const PARTED_FS: Record<string, string> = { swap: 'linux-swap', vfat: 'fat32', msdos: 'fat16', fat: 'fat32' };

interface Span {
  part: LayoutPart;
  start: number;
  end: number;
}

/** Lays the parts of a disk out in MiB (1 MiB aligned); `fsOf` gives the filesystem planned on each layout partition. */
export function planPartitions(disk: LayoutDisk, device: string, diskMiB: number, fsOf: Record<string, string>, emit: Emit): PlannedPartition[] {
  const sorted = [...disk.parts].sort((a, b) => a.num - b.num);
  const top = sorted.filter((p) => p.pType !== 'logical');
  const logical = sorted.filter((p) => p.pType === 'logical');
  // 1 MiB before the first partition (alignment, msdos MBR / gpt header), 1 MiB after the last on gpt (backup header).
  const areaEnd = disk.labelType === 'gpt' ? diskMiB - 1 : diskMiB;
  const spans = layOut(top, 1, areaEnd, 0, diskMiB, `${disk.at} dev`, device, emit);
  if (!spans) return [];
  const ext = spans.find((s) => s.part.pType === 'extended');
  let all = spans;
  if (ext && logical.length > 0) {
    // Each logical partition is preceded by its EBR: a 1 MiB gap keeps the data aligned.
    const inner = layOut(logical, ext.start, ext.end, 1, diskMiB, `${ext.part.at} size`, `the extended partition ${partitionDevice(device, ext.part.num)}`, emit);
    if (!inner) return [];
    all = [...spans, ...inner];
  }
  return all.map((s) => {
    const layoutDevice = partitionDevice(disk.dev, s.part.num);
    const fs = fsOf[layoutDevice];
    const id = s.part.id?.toLowerCase().replace(/^0x/, '').replace(/^0+(?=.)/, '') ?? null;
    const idFlag = id !== null ? ID_FLAGS[id] : undefined;
    const flags = idFlag && !s.part.flags.includes(idFlag) ? [...s.part.flags, idFlag] : [...s.part.flags];
    return {
      at: s.part.at,
      num: s.part.num,
      device: partitionDevice(device, s.part.num),
      layoutDevice,
      pType: s.part.pType,
      name: disk.labelType === 'gpt' ? (s.part.pName ?? 'primary') : null,
      flags,
      id: s.part.id,
      partedFsType: s.part.pType === 'extended' ? null : ((fs ? PARTED_FS[fs] : undefined) ?? (id !== null ? ID_FS[id] : undefined) ?? null),
      startMiB: s.start,
      endMiB: s.end,
      sizeMiB: s.end - s.start,
    };
  });
}

/** Sizes and places parts in [start, end) with `gap` MiB before each; returns null after emitting a problem. */
function layOut(parts: LayoutPart[], start: number, end: number, gap: number, diskMiB: number, key: string, where: string, emit: Emit): Span[] | null {
  const grow = parts.filter((p) => p.size.kind === 'grow');
  if (grow.length > 1) {
    for (const g of grow.slice(1)) emit(`${g.at} size`, `only one partition per ${gap ? 'extended partition' : 'disk'} may be "*"; ${grow[0]!.at} already grows`);
    return null;
  }
  let percent = 0;
  const fixed = parts.map((p) => {
    if (p.size.kind === 'mib') return p.size.mib;
    if (p.size.kind === 'percent') {
      percent += p.size.percent;
      // Percent of the space that holds them: the disk between its headers, or the extended partition less EBR gaps.
      return Math.floor(((end - start - gap * parts.length) * p.size.percent) / 100);
    }
    return 0;
  });
  if (percent > 100) {
    emit(key, `percentages on ${where} add up to ${percent}%, more than 100%`);
    return null;
  }
  const need = fixed.reduce((a, b) => a + b, 0) + gap * parts.length + (grow.length ? 1 : 0);
  if (need > end - start) {
    const total = gap === 0 ? need + start + (end < diskMiB ? diskMiB - end : 0) : need;
    emit(key, `${where} has ${gap === 0 ? diskMiB : end - start} MiB, the layout needs at least ${total} MiB`);
    return null;
  }
  const growSize = end - start - (need - (grow.length ? 1 : 0));
  let cursor = start;
  return parts.map((p, i) => {
    const size = p.size.kind === 'grow' ? growSize : fixed[i]!;
    const s = cursor + gap;
    cursor = s + size;
    return { part: p, start: s, end: s + size };
  });
}
