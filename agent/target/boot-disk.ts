// Which disks get the boot loader and where the ESP is, from the disk plan (through md RAID and LVM).

import type { DiskPlan } from '../plan/disk-plan-types.js';

/** The mount point holding the kernels: /boot when the layout has one, else /. */
export function bootMount(plan: DiskPlan): { mp: string; device: string } | undefined {
  const m = plan.mounts.find((x) => x.mp === '/boot') ?? plan.mounts.find((x) => x.mp === '/');
  return m ? { mp: m.mp, device: m.device } : undefined;
}

/** The whole disks under a device: a partition's disk, every member's disk of an md array, every PV's disk of an LV. */
export function disksUnder(plan: DiskPlan, device: string, seen: Set<string> = new Set()): string[] {
  if (seen.has(device)) return [];
  seen.add(device);
  const disk = plan.disks.find((d) => d.device === device || d.parts.some((p) => p.device === device));
  if (disk) return [disk.device];
  const raid = plan.raids.find((r) => r.device === device);
  if (raid) return dedupe(raid.members.flatMap((m) => disksUnder(plan, plan.deviceMap[m] ?? m, seen)));
  const vg = plan.vgs.find((v) => v.lvs.some((l) => l.device === device));
  if (vg) return dedupe(vg.pvs.flatMap((pv) => disksUnder(plan, plan.deviceMap[pv] ?? pv, seen)));
  return [];
}

/** The boot disks: those holding /boot (or /); several for a RAID 1 /boot, so each can boot. */
export function bootDisks(plan: DiskPlan): string[] {
  const m = bootMount(plan);
  return m ? disksUnder(plan, m.device) : [];
}

/** The EFI system partition's mount point: a vfat mount at /boot/efi, /efi or /boot. */
export function espMount(plan: DiskPlan): { mp: string; device: string } | undefined {
  for (const mp of ['/boot/efi', '/efi', '/boot']) {
    const m = plan.mounts.find((x) => x.mp === mp && /^(vfat|fat|msdos|fat32)$/.test(x.fs));
    if (m) return { mp: m.mp, device: m.device };
  }
  return undefined;
}

/** The real device of the root filesystem. */
export function rootDevice(plan: DiskPlan): string | undefined {
  return plan.mounts.find((m) => m.mp === '/')?.device;
}

const dedupe = (xs: string[]) => [...new Set(xs)];
