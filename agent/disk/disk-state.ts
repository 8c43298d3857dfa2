// How far the disk steps got, per disk and per device, so a failure can say what state each disk was left in.

import type { DiskPlan } from '../plan/disk-plan-types.js';

/** How far one disk got, in order. */
export type DiskStage = 'untouched' | 'wiped' | 'partitioned' | 'formatted' | 'mounted';

/** Progress of applyDiskPlan, kept up to date as it goes so a failure can report it. */
export interface DiskState {
  disks: { device: string; labelType: string; partitions: number; stage: DiskStage }[];
  raids: { device: string; created: boolean }[];
  vgs: { name: string; created: boolean }[];
  filesystems: { device: string; fs: string; made: boolean }[];
  /** Mounted so far, in mount order: device and full path under the sysroot. */
  mounted: { device: string; path: string }[];
}

/** A fresh state: every disk untouched, nothing created. */
export function createDiskState(plan: DiskPlan): DiskState {
  return {
    disks: plan.disks.map((d) => ({ device: d.device, labelType: d.labelType, partitions: d.parts.length, stage: 'untouched' })),
    raids: plan.raids.map((r) => ({ device: r.device, created: false })),
    vgs: plan.vgs.map((v) => ({ name: v.name, created: false })),
    filesystems: plan.filesystems.filter((f) => f.format).map((f) => ({ device: f.device, fs: f.fs, made: false })),
    mounted: [],
  };
}

/** Moves every disk to a stage (never backwards). */
export function advanceDisks(state: DiskState, stage: DiskStage, device?: string): void {
  const order: DiskStage[] = ['untouched', 'wiped', 'partitioned', 'formatted', 'mounted'];
  for (const d of state.disks) {
    if (device !== undefined && d.device !== device) continue;
    if (order.indexOf(stage) > order.indexOf(d.stage)) d.stage = stage;
  }
}

const STAGE_TEXT: Record<DiskStage, string> = {
  untouched: 'untouched (nothing written)',
  wiped: 'signatures wiped, NO partition table (the disk is blank)',
  partitioned: 'new partition table written',
  formatted: 'partitioned and filesystems made',
  mounted: 'partitioned, formatted and mounted',
};

/** One line per disk and per created device, for failure reports. */
export function describeDiskState(state: DiskState): string[] {
  const lines = state.disks.map((d) => `${d.device}: ${STAGE_TEXT[d.stage]}${d.stage !== 'untouched' && d.stage !== 'wiped' ? ` (${d.labelType}, ${d.partitions} partitions)` : ''}`);
  for (const r of state.raids) lines.push(`${r.device}: ${r.created ? 'array created' : 'array not created'}`);
  for (const v of state.vgs) lines.push(`volume group ${v.name}: ${v.created ? 'created' : 'not created'}`);
  const made = state.filesystems.filter((f) => f.made);
  const notMade = state.filesystems.filter((f) => !f.made);
  if (made.length) lines.push(`filesystems made: ${made.map((f) => `${f.device} (${f.fs})`).join(', ')}`);
  if (notMade.length && state.disks.some((d) => d.stage !== 'untouched')) lines.push(`filesystems not made: ${notMade.map((f) => `${f.device} (${f.fs})`).join(', ')}`);
  if (state.mounted.length) lines.push(`mounted: ${state.mounted.map((m) => `${m.device} on ${m.path}`).join(', ')}`);
  return lines;
}
