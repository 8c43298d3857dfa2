// How much the filesystems a disk plan mounts can hold, to refuse an image that cannot fit before any disk is written.

import type { DiskPlan } from './disk-plan-types.js';

/** Filesystems that hold no image data. */
const NOT_DATA = new Set(['swap', 'proc', 'sysfs', 'tmpfs', 'devpts', 'devtmpfs']);

/** The size in MiB of a planned device (partition, md array or logical volume), or null when unknown. */
export function deviceSizeMiB(plan: DiskPlan, device: string): number | null {
  for (const d of plan.disks) for (const p of d.parts) if (p.device === device) return p.sizeMiB;
  for (const r of plan.raids) if (r.device === device) return r.sizeMiB;
  for (const vg of plan.vgs) {
    const lv = vg.lvs.find((l) => l.device === device);
    if (!lv) continue;
    if (lv.sizeMiB !== null) return lv.sizeMiB;
    const fixed = vg.lvs.reduce((sum, l) => sum + (l.sizeMiB ?? 0), 0);
    return lv.percent !== null && !lv.grow ? Math.floor((vg.sizeMiB * lv.percent) / 100) : Math.max(0, vg.sizeMiB - fixed);
  }
  return null;
}

/** Total MiB of the data filesystems the plan mounts; null when a size is unknown (then nothing is refused). */
export function mountedCapacityMiB(plan: DiskPlan): number | null {
  let total = 0;
  for (const m of plan.mounts) {
    if (NOT_DATA.has(m.fs)) continue;
    const size = deviceSizeMiB(plan, m.device);
    if (size === null) return null;
    total += size;
  }
  return total;
}
