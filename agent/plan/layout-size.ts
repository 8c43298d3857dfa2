// Size and unit parsing for layout attributes: `512`, `2G`, `50%`, `*`, in the disk's unit of measurement.

import type { SizeSpec } from './layout-types.js';

/** MiB per unit. MB/GB are taken as MiB/GiB: the agent aligns everything to 1 MiB anyway. */
const UNIT_MIB: Record<string, number> = {
  k: 1 / 1024, kb: 1 / 1024, kib: 1 / 1024,
  m: 1, mb: 1, mib: 1,
  g: 1024, gb: 1024, gib: 1024,
  t: 1024 * 1024, tb: 1024 * 1024, tib: 1024 * 1024,
};

const PERCENT_UNITS = ['%', 'percent', 'percentage'];

/** Whether a unit_of_measurement value is one the agent understands. */
export function isKnownUnit(unit: string): boolean {
  const u = unit.trim().toLowerCase();
  return u in UNIT_MIB || PERCENT_UNITS.includes(u);
}

/** Parses a size attribute (`*`, `100`, `2G`, `50%`) with `defaultUnit` for bare numbers; returns an error text on failure. */
export function parseSizeSpec(value: string, defaultUnit: string): SizeSpec | string {
  const v = value.trim();
  if (v === '*') return { kind: 'grow' };
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z%]*)$/.exec(v);
  if (!m) return `"${value}" is not a size`;
  const n = Number(m[1]);
  const unit = (m[2] || defaultUnit).toLowerCase();
  if (PERCENT_UNITS.includes(unit)) {
    if (n <= 0 || n > 100) return `"${value}" is not a percentage between 0 and 100`;
    return { kind: 'percent', percent: n };
  }
  const factor = UNIT_MIB[unit];
  if (factor === undefined) return `"${value}" has an unknown unit "${m[2] || defaultUnit}"`;
  const mib = Math.round(n * factor);
  if (mib < 1) return `"${value}" is smaller than 1 MiB`;
  return { kind: 'mib', mib };
}

/** Parses an absolute size (never `*` or %) to MiB, fractional allowed (PE sizes such as 512K). */
export function parseMiB(value: string, defaultUnit = 'MiB'): number | string {
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(value.trim());
  if (!m) return `"${value}" is not a size`;
  const factor = UNIT_MIB[(m[2] || defaultUnit).toLowerCase()];
  if (factor === undefined) return `"${value}" has an unknown unit "${m[2]}"`;
  const mib = Number(m[1]) * factor;
  if (mib <= 0) return `"${value}" is not a positive size`;
  return mib;
}

/** Renders a size for humans: `512 MiB`, `50%`, `*`. */
export function formatSizeSpec(s: SizeSpec): string {
  return s.kind === 'grow' ? '*' : s.kind === 'percent' ? `${s.percent}%` : `${s.mib} MiB`;
}
