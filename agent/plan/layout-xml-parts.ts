// Parses <part> elements and checks a disk's partition table shape (numbering, msdos primary/extended/logical rules).

import { parseSizeSpec } from './layout-size.js';
import { KNOWN_FLAGS, type Attrs, type Emit, type LabelType, type LayoutDisk, type LayoutPart, type PartType } from './layout-types.js';

/** Parses one <part>; `prefix` names the disk when the layout has several. Returns null after emitting problems. */
export function parsePart(a: Attrs, index: number, prefix: string, labelType: LabelType, unit: string, emit: Emit): LayoutPart | null {
  const numText = a['num']?.trim() ?? '';
  const at = `${prefix}${numText ? `<part num=${numText}>` : `<part #${index + 1}>`}`;
  let ok = true;
  const num = Number(numText);
  if (!numText) {
    emit(`${at} num`, 'missing');
    ok = false;
  } else if (!/^\d+$/.test(numText) || num < 1 || num > 128) {
    emit(`${at} num`, `"${numText}" is not a partition number (1-128)`);
    ok = false;
  }
  const size = a['size'] === undefined ? 'missing' : parseSizeSpec(a['size'], unit);
  if (typeof size === 'string') {
    emit(`${at} size`, size);
    ok = false;
  }
  const pt = (a['p_type'] ?? 'primary').trim().toLowerCase() || 'primary';
  if (pt !== 'primary' && pt !== 'extended' && pt !== 'logical') {
    emit(`${at} p_type`, `"${a['p_type']}" is not primary, extended or logical`);
    ok = false;
  } else if (labelType === 'gpt' && pt !== 'primary') {
    emit(`${at} p_type`, `${pt} partitions exist only on msdos labels, this disk is gpt`);
    ok = false;
  }
  const flags = splitList(a['flags'] ?? '', /[,\s]+/);
  for (const f of flags) {
    if (!(KNOWN_FLAGS as readonly string[]).includes(f)) {
      emit(`${at} flags`, `"${f}" is not a partition flag parted knows`);
      ok = false;
    }
  }
  if (!ok || typeof size === 'string') return null;
  return {
    at, num, size, pType: pt as PartType,
    pName: dashNull(a['p_name']), id: dashNull(a['id']), flags, lvmGroup: dashNull(a['lvm_group']),
  };
}

/** Checks numbering and msdos rules of a parsed disk (parted numbers partitions itself, so gaps cannot be honoured). */
export function checkPartitionTable(disk: LayoutDisk, emit: Emit): void {
  const parts = [...disk.parts].sort((a, b) => a.num - b.num);
  const nums = new Set<number>();
  for (const p of parts) {
    if (nums.has(p.num)) emit(`${p.at} num`, `partition ${p.num} appears twice on ${disk.dev}`);
    nums.add(p.num);
  }
  if (disk.labelType === 'gpt') {
    parts.forEach((p, i) => {
      if (p.num !== i + 1) emit(`${p.at} num`, `partitions must be numbered 1, 2, 3... without gaps; expected ${i + 1}`);
    });
    return;
  }
  const top = parts.filter((p) => p.pType !== 'logical');
  const logical = parts.filter((p) => p.pType === 'logical');
  const extended = top.filter((p) => p.pType === 'extended');
  top.forEach((p, i) => {
    if (p.num > 4) emit(`${p.at} num`, `a ${p.pType} partition on msdos must be numbered 1-4`);
    else if (p.num !== i + 1) emit(`${p.at} num`, `primary/extended partitions must be numbered 1, 2, 3, 4 without gaps; expected ${i + 1}`);
  });
  if (extended.length > 1) emit(`${extended[1]!.at} p_type`, 'only one extended partition is allowed on msdos');
  if (logical.length > 0 && extended.length === 0) emit(`${logical[0]!.at} p_type`, 'logical partitions need an extended partition');
  logical.forEach((p, i) => {
    if (p.num !== i + 5) emit(`${p.at} num`, `logical partitions must be numbered 5, 6, 7... without gaps; expected ${i + 5}`);
  });
  const ext = extended[0];
  if (ext && ext.flags.length > 0) emit(`${ext.at} flags`, 'an extended partition takes no flags');
}

/** Splits a list attribute; `-` and empty mean none. */
export function splitList(value: string, sep: RegExp = /\s+/): string[] {
  return value
    .split(sep)
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== '-');
}

/** Null for an absent, empty or `-` attribute. */
export function dashNull(v: string | undefined): string | null {
  const t = v?.trim();
  return t === undefined || t === '' || t === '-' ? null : t;
}
