// The last check before the first write: each planned disk still exists, has the planned size, is allowed and is free.

import { SiError } from '../errors.js';
import type { DiskPlan } from '../plan/disk-plan-types.js';
import { findDevice, type BlockDevice } from './block-device.js';
import { busyReasonsForDisk, type BusyDevice } from './busy.js';

/** Reasons to refuse writing any disk of the plan; empty when every disk is safe to write. */
export function findRefusals(plan: DiskPlan, devices: BlockDevice[], busy: BusyDevice[]): string[] {
  const out: string[] = [];
  if (plan.disks.length === 0 && plan.filesystems.some((f) => f.format)) out.push('the plan formats devices but maps no disk');
  for (const d of plan.disks) {
    if (plan.allowed && !plan.allowed.includes(d.device)) {
      out.push(`${d.device} is not in the list of disks this run may write (${plan.allowed.join(' ')})`);
      continue;
    }
    const dev = findDevice(devices, d.device);
    if (!dev) {
      out.push(`${d.device} no longer exists`);
      continue;
    }
    if (dev.type === 'part' || dev.type === 'rom') out.push(`${d.device} is a ${dev.type}, not a whole disk`);
    if (Math.floor(dev.sizeBytes / (1024 * 1024)) !== d.sizeMiB) out.push(`${d.device} is ${Math.floor(dev.sizeBytes / 1048576)} MiB, the plan was made for ${d.sizeMiB} MiB`);
    if (dev.ro) out.push(`${d.device} is read-only`);
    const reasons = busyReasonsForDisk(dev, busy);
    if (reasons.length) out.push(`${d.device} is in use: ${reasons.join('; ')}`);
  }
  for (const r of plan.raids) if (findDevice(devices, r.device)) out.push(`${r.device} already exists`);
  return out;
}

/** Throws an E_DISK error listing every refusal, before anything is written. */
export function assertSafeToWrite(plan: DiskPlan, devices: BlockDevice[], busy: BusyDevice[]): void {
  const refusals = findRefusals(plan, devices, busy);
  if (refusals.length === 0) return;
  throw new SiError('E_DISK', `refusing to write the disks (nothing was written): ${refusals[0]}${refusals.length > 1 ? ` (+${refusals.length - 1} more)` : ''}`, { details: refusals });
}
