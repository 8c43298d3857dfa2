// md arrays and LVM volumes left active on the disks about to be installed (an earlier install, a script that assembled
// them): they hold the partitions, so the disks look busy. When they are built on those disks alone and nothing on them
// is mounted or swapped, they are stopped before the plan is checked; anything else stays a refusal.

import type { Runner } from '../exec/runner.js';
import type { Reporter } from '../report/events.js';
import { listSubtree, type BlockDevice } from './block-device.js';
import type { BusyDevice } from './busy.js';
import type { Command } from './disk-commands.js';

/** One active md array or LVM logical volume to stop. */
export interface StaleHolder {
  path: string;
  kind: 'md' | 'lvm';
  /** The volume group of an LVM volume (from its device-mapper name). */
  vg?: string;
}

const isMd = (d: BlockDevice) => /^(raid\d+|linear|md)$/.test(d.type);

/** The VG and LV of a device-mapper name as LVM makes it (`vg-lv`, with `-` doubled inside each name). */
export function splitLvmDmName(name: string): { vg: string; lv: string } | null {
  const m = /^((?:[^-]|--)+)-((?:[^-]|--)+)$/.exec(name);
  return m ? { vg: m[1]!.replace(/--/g, '-'), lv: m[2]!.replace(/--/g, '-') } : null;
}

/**
 * The arrays and volumes to stop so the target disks are free, deepest first; empty when there are none or when any
 * target disk is busy for another reason (a mount, a swap, a holder that also sits on another disk or is not md/LVM).
 */
export function findStaleHolders(found: BlockDevice[], targets: readonly string[], busy: readonly BusyDevice[]): StaleHolder[] {
  const disksOf = new Map<string, Set<string>>(); // holder path -> top-level disks it is built on
  for (const top of found) for (const d of listSubtree(top)) if (d !== top && d.type !== 'part') (disksOf.get(d.path) ?? disksOf.set(d.path, new Set()).get(d.path)!).add(top.path);
  const out: StaleHolder[] = [];
  for (const t of targets) {
    const top = found.find((d) => d.path === t);
    if (!top) continue;
    const names = new Set(listSubtree(top).flatMap((d) => [d.path, `/dev/${d.name}`]));
    if (busy.some((b) => names.has(b.device) && !b.reason.startsWith('held by '))) return [];
    for (const d of listSubtree(top)) {
      if (d === top || d.type === 'part') continue;
      if (d.mountpoints.length > 0) return [];
      if (!isMd(d) && d.type !== 'lvm') return [];
      if ([...(disksOf.get(d.path) ?? [])].some((p) => !targets.includes(p))) return [];
      if (out.some((h) => h.path === d.path)) continue;
      const vg = d.type === 'lvm' ? splitLvmDmName(d.name)?.vg : undefined;
      if (d.type === 'lvm' && !vg) return [];
      out.push({ path: d.path, kind: isMd(d) ? 'md' : 'lvm', ...(vg ? { vg } : {}) });
    }
  }
  // Volumes before the arrays they may sit on.
  return [...out.filter((h) => h.kind === 'lvm'), ...out.filter((h) => h.kind === 'md')];
}

/** vgchange -an once per volume group, then mdadm --stop per array. */
export function buildReleaseCommands(holders: readonly StaleHolder[]): Command[] {
  const vgs = [...new Set(holders.flatMap((h) => (h.vg ? [h.vg] : [])))];
  return [...vgs.map((vg) => ({ tool: 'lvm', args: ['vgchange', '-an', vg] })), ...holders.filter((h) => h.kind === 'md').map((h) => ({ tool: 'mdadm', args: ['--stop', h.path] }))];
}

/** Stops the stale holders, saying so; a command that fails is a warning (the plan check then refuses the disk). */
export async function releaseStaleHolders(run: Runner, report: Reporter, holders: readonly StaleHolder[], signal?: AbortSignal): Promise<void> {
  report.warn(`stopping what an earlier install left active on the target disks: ${holders.map((h) => h.path).join(' ')}`);
  for (const c of buildReleaseCommands(holders)) {
    const r = await run(c.tool, c.args, { allowFail: true, timeout: 60_000, signal });
    if (r.code !== 0) report.warn(`${[c.tool, ...c.args].join(' ')} failed: ${r.stderr.trim() || `exit code ${r.code}`}`);
  }
}
