// Turns a layout and the disks found into a checked DiskPlan: pure, every problem reported at once.

import { LayoutError, type Problem } from '../errors.js';
import type { BlockDevice } from '../disk/block-device.js';
import { busyReasonsForDisk, findBusyDevices, type BusyDevice } from '../disk/busy.js';
import { partitionDevice } from '../disk/partition-name.js';
import { mapLayoutDisks } from './disk-plan-map.js';
import { planPartitions } from './disk-plan-parts.js';
import { planFilesystems } from './disk-plan-fs.js';
import { planRaids, planVgs } from './disk-plan-storage.js';
import { layoutSource, type Layout } from './layout-types.js';
import type { DiskPlan, PlannedDisk } from './disk-plan-types.js';

export type { DiskPlan } from './disk-plan-types.js';

/** How layout disks are mapped, and what is known to be busy. */
export interface PlanDiskOptions {
  /** The --disk list: the only disks that may be written, mapped in order. null = DISKORDER/autodetect. */
  allowed: string[] | null;
  /** DISKORDER prefixes, e.g. ['sd', 'nvme', 'vd', 'hd']. */
  diskorder?: string[];
  /** Busy devices from findBusyDevices; lsblk's own mountpoints are always considered. */
  busy?: BusyDevice[];
}

const MIB = 1024 * 1024;

/** Maps the layout onto the disks found and checks the whole plan; the plan is usable only when problems is empty. */
export function planDisks(layout: Layout, found: BlockDevice[], opts: PlanDiskOptions): { plan: DiskPlan; problems: Problem[] } {
  const source = layoutSource(layout.source);
  const problems: Problem[] = [];
  const emit = (key: string, message: string) => problems.push({ source, key, message });
  const { matches, problems: mapProblems } = mapLayoutDisks(layout.disks, found, opts, source);
  problems.push(...mapProblems);
  const busy = [...(opts.busy ?? []), ...findBusyDevices(found, { mounts: '', swaps: '', holders: {}, rootMajMin: null })];
  const deviceMap: Record<string, string> = {};
  const fsOf: Record<string, string> = {};
  for (const f of layout.fsinfo) if (f.realDev && f.fs) fsOf[f.realDev] = f.fs;
  const disks: PlannedDisk[] = [];
  const partitions = new Set<string>();
  const sizes: Record<string, number> = {};
  const seen = new Set<string>();
  for (const { layout: l, device: d } of matches) {
    if (seen.has(d.path)) {
      emit(`${l.at} dev`, `${d.path} is already used for another layout disk`);
      continue;
    }
    seen.add(d.path);
    const reasons = busyReasonsForDisk(d, busy);
    if (reasons.length > 0) emit(`${l.at} dev`, `refusing ${d.path}: it is in use (${reasons.join('; ')})`);
    if (d.ro) emit(`${l.at} dev`, `${d.path} is read-only`);
    deviceMap[l.dev] = d.path;
    const sizeMiB = Math.floor(d.sizeBytes / MIB);
    const parts = planPartitions(l, d.path, sizeMiB, fsOf, emit);
    if (parts.length !== l.parts.length) {
      // a sizing problem was reported; still record the names so references resolve without extra noise
      for (const p of l.parts) deviceMap[partitionDevice(l.dev, p.num)] = partitionDevice(d.path, p.num);
    }
    for (const p of parts) {
      deviceMap[p.layoutDevice] = p.device;
      sizes[p.device] = p.sizeMiB;
    }
    for (const p of l.parts) partitions.add(partitionDevice(l.dev, p.num));
    disks.push({ at: l.at, layoutDev: l.dev, device: d.path, labelType: l.labelType, sizeMiB, parts });
  }
  const mapped = new Set(matches.map((m) => m.layout));
  for (const l of layout.disks) {
    if (mapped.has(l)) continue;
    // An unmapped disk was already reported: keep its names resolvable so references to it add no noise.
    deviceMap[l.dev] = l.dev;
    for (const p of l.parts) {
      partitions.add(partitionDevice(l.dev, p.num));
      deviceMap[partitionDevice(l.dev, p.num)] = partitionDevice(l.dev, p.num);
    }
  }
  const raids = planRaids(layout, deviceMap, partitions, sizes, found, emit);
  const consumed = new Map<string, string>();
  for (const r of layout.raids) for (const m of r.devices) consumed.set(m, r.at);
  const pvSources: { device: string; sizeMiB: number; vg: string; at: string }[] = [];
  for (const l of layout.disks) {
    for (const p of l.parts) {
      if (!p.lvmGroup) continue;
      const dev = partitionDevice(l.dev, p.num);
      if (consumed.has(dev)) emit(`${p.at} lvm_group`, `${dev} is already a member of ${consumed.get(dev)}`);
      consumed.set(dev, `<lvm_group name=${p.lvmGroup}>`);
      const real = deviceMap[dev] ?? dev;
      pvSources.push({ device: real, sizeMiB: sizes[real] ?? 0, vg: p.lvmGroup, at: p.at });
    }
  }
  for (const r of raids) {
    if (!r.lvmGroup) continue;
    consumed.set(r.device, `<lvm_group name=${r.lvmGroup}>`);
    pvSources.push({ device: r.device, sizeMiB: r.sizeMiB, vg: r.lvmGroup, at: r.at });
  }
  const vgs = planVgs(layout, pvSources, deviceMap, found, emit);
  const extended = new Set(disks.flatMap((d) => d.parts.filter((p) => p.pType === 'extended').map((p) => p.layoutDevice)));
  for (const x of extended) consumed.set(x, 'the extended partition container');
  const { filesystems, mounts, fstab } = planFilesystems(layout, deviceMap, consumed, found, emit);
  const plan: DiskPlan = { source: layout.source, allowed: opts.allowed ? [...opts.allowed] : null, disks, raids, vgs, filesystems, mounts, fstab, deviceMap };
  return { plan, problems };
}

/** Every device path the plan will write (disks), for safety checks and failure reports. */
export function listPlannedDisks(plan: DiskPlan): string[] {
  return plan.disks.map((d) => d.device);
}


/** planDisks for callers that must not go on with a bad plan: throws LayoutError listing every problem. */
export function planDisksOrThrow(layout: Layout, found: BlockDevice[], opts: PlanDiskOptions): DiskPlan {
  const { plan, problems } = planDisks(layout, found, opts);
  if (problems.length > 0) throw new LayoutError(problems);
  return plan;
}
