// The kernel modules a disk plan needs (filesystems, md RAID levels, device-mapper), loaded just before the disks are set up;
// the filesystem table also serves the local.cfg search of removable media.

import type { Runner } from '../exec/runner.js';
import type { DiskPlan } from '../plan/disk-plan-types.js';

const FS_MODULES: Record<string, string[]> = {
  ext2: ['ext4'],
  ext3: ['ext4'],
  ext4: ['ext4'],
  xfs: ['xfs'],
  btrfs: ['btrfs'],
  vfat: ['vfat', 'nls_cp437', 'nls_ascii', 'nls_iso8859_1'],
  msdos: ['msdos', 'nls_cp437'],
  iso9660: ['isofs', 'nls_utf8'],
};

/** The modules mounting a filesystem type needs (none known: []). */
export function fsModules(fsType: string): string[] {
  return FS_MODULES[fsType] ?? [];
}

const RAID_MODULES: Record<string, string> = { linear: 'linear', raid0: 'raid0', raid1: 'raid1', raid4: 'raid456', raid5: 'raid456', raid6: 'raid456', raid10: 'raid10' };

/** Modules the plan needs, in load order; pure. */
export function modulesForPlan(plan: DiskPlan): string[] {
  const mods: string[] = [];
  for (const f of plan.filesystems) mods.push(...fsModules(f.fs));
  if (plan.raids.length > 0) mods.push('md_mod', ...plan.raids.map((r) => RAID_MODULES[r.level.replace(/^(\d+)$/, 'raid$1')] ?? 'md_mod'));
  if (plan.vgs.length > 0) mods.push('dm_mod');
  return [...new Set(mods)];
}

/** Loads them with one modprobe; a module built into the kernel or absent is not an error (mkfs or mount then say what is wrong). */
export async function loadPlanModules(run: Runner, plan: DiskPlan): Promise<string[]> {
  const mods = modulesForPlan(plan);
  if (mods.length > 0) await run('modprobe', ['-a', '-q', ...mods], { allowFail: true, quiet: true, timeout: 120_000 });
  return mods;
}
