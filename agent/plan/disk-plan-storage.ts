// Plans md arrays and LVM volume groups on planned partitions, checking every reference and the sizes.

import { findDevice, listSubtree, type BlockDevice } from '../disk/block-device.js';
import type { Emit } from './layout-xml-elements.js';
import type { Layout } from './layout-types.js';
import type { PlannedLv, PlannedRaid, PlannedVg } from './disk-plan-types.js';

/** Usable size of an md array from its member size (data offset and superblock taken off, roughly as mdadm 1.2 does). */
export function estimateRaidMiB(level: string, active: number, memberMiB: number): number {
  const usable = memberMiB - (memberMiB >= 8192 ? 128 : Math.max(2, Math.ceil(memberMiB / 64)));
  const n = active;
  switch (level) {
    case 'raid1': return usable;
    case 'raid0': case 'linear': return usable * n;
    case 'raid4': case 'raid5': return usable * (n - 1);
    case 'raid6': return usable * (n - 2);
    case 'raid10': return Math.floor((usable * n) / 2);
    default: return usable;
  }
}

const MIN_ACTIVE: Record<string, number> = { raid0: 2, raid1: 2, raid4: 3, raid5: 3, raid6: 4, raid10: 2, linear: 1 };

/** Plans the md arrays; `sizes` maps real partition devices to MiB. Adds each array to deviceMap. */
export function planRaids(layout: Layout, deviceMap: Record<string, string>, partitions: Set<string>, sizes: Record<string, number>, found: BlockDevice[], emit: Emit): PlannedRaid[] {
  const out: PlannedRaid[] = [];
  const used = new Map<string, string>();
  for (const r of layout.raids) {
    let ok = true;
    if (findDevice(found, r.name)) {
      emit(`${r.at} name`, `${r.name} already exists; si-agent does not stop arrays it did not make`);
      ok = false;
    }
    const members: string[] = [];
    for (const d of r.devices) {
      if (!partitions.has(d)) {
        emit(`${r.at} devices`, `${d} is not a partition in this layout`);
        ok = false;
      } else if (used.has(d)) {
        emit(`${r.at} devices`, `${d} is already a member of ${used.get(d)}`);
        ok = false;
      } else {
        used.set(d, r.name);
        members.push(deviceMap[d]!);
      }
    }
    const spares = r.spareDevices ?? 0;
    const active = r.raidDevices ?? r.devices.length - spares;
    if (active < (MIN_ACTIVE[r.level] ?? 1)) {
      emit(`${r.at} raid_devices`, `${r.level} needs at least ${MIN_ACTIVE[r.level]} active devices, got ${active}`);
      ok = false;
    }
    if (!ok) continue;
    const memberMiB = Math.min(...members.map((m) => sizes[m] ?? 0));
    deviceMap[r.name] = r.name;
    out.push({
      at: r.at, device: r.name, level: r.level, raidDevices: active, spareDevices: spares, members,
      layout: r.layout, chunkSize: r.chunkSize, rounding: r.rounding, metadata: '1.2', lvmGroup: r.lvmGroup,
      sizeMiB: estimateRaidMiB(r.level, active, memberMiB),
    });
  }
  return out;
}

/** Plans the volume groups; `pvSources` are the (real device, size, vg, element) of partitions/arrays with lvm_group. */
export function planVgs(layout: Layout, pvSources: { device: string; sizeMiB: number; vg: string; at: string }[], deviceMap: Record<string, string>, found: BlockDevice[], emit: Emit): PlannedVg[] {
  for (const s of pvSources) {
    if (!layout.vgs.some((v) => v.name === s.vg)) emit(`${s.at} lvm_group`, `volume group "${s.vg}" is not defined in <lvm>`);
  }
  const existing = found.flatMap(listSubtree).filter((d) => d.type === 'lvm');
  const out: PlannedVg[] = [];
  for (const v of layout.vgs) {
    const pvs = pvSources.filter((s) => s.vg === v.name);
    if (pvs.length === 0) {
      emit(`${v.at} name`, `no partition or array has lvm_group="${v.name}"`);
      continue;
    }
    const esc = v.name.replace(/-/g, '--');
    if (existing.some((d) => d.name.startsWith(`${esc}-`) && !d.name.startsWith(`${esc}--`))) {
      emit(`${v.at} name`, `volume group ${v.name} already exists on this machine`);
      continue;
    }
    const pe = v.peSizeMiB ?? 4;
    // pvcreate keeps 1 MiB for its label and metadata; the VG holds whole extents of each PV.
    const sizeMiB = pvs.reduce((a, p) => a + Math.floor((p.sizeMiB - 1) / pe) * pe, 0);
    const lvs = planLvs(v.name, v.lvs, pe, sizeMiB, v.at, emit);
    for (const lv of lvs) {
      deviceMap[lv.device] = lv.device;
      deviceMap[`/dev/mapper/${esc}-${lv.name.replace(/-/g, '--')}`] = `/dev/mapper/${esc}-${lv.name.replace(/-/g, '--')}`;
    }
    out.push({ at: v.at, name: v.name, pvs: pvs.map((p) => p.device), peSizeMiB: pe, maxLogVols: v.maxLogVols, maxPhysVols: v.maxPhysVols, sizeMiB, lvs });
  }
  return out;
}

function planLvs(vg: string, lvs: Layout['vgs'][number]['lvs'], pe: number, vgMiB: number, vgAt: string, emit: Emit): PlannedLv[] {
  const grow = lvs.filter((l) => l.size.kind === 'grow');
  for (const g of grow.slice(1)) emit(`${g.at} size`, `only one logical volume per volume group may be "*"; ${grow[0]!.at} already grows`);
  const names = new Set<string>();
  let used = 0;
  let percent = 0;
  const out = lvs.map((l): PlannedLv => {
    if (names.has(l.name)) emit(`${l.at} name`, `logical volume ${l.name} appears twice in ${vg}`);
    names.add(l.name);
    const base = { at: l.at, name: l.name, device: `/dev/${vg}/${l.name}`, options: l.options };
    if (l.size.kind === 'mib') {
      const mib = Math.ceil(l.size.mib / pe) * pe;
      used += mib;
      return { ...base, sizeMiB: mib, percent: null, grow: false };
    }
    if (l.size.kind === 'percent') {
      percent += l.size.percent;
      used += Math.ceil((vgMiB * l.size.percent) / 100 / pe) * pe;
      return { ...base, sizeMiB: null, percent: l.size.percent, grow: false };
    }
    return { ...base, sizeMiB: null, percent: 100, grow: true };
  });
  if (percent > 100) emit(`${vgAt} name`, `logical volume percentages add up to ${percent}%`);
  if (used + (grow.length ? pe : 0) > vgMiB) {
    emit(`${vgAt} name`, `logical volumes need ${used + (grow.length ? pe : 0)} MiB, the volume group has about ${vgMiB} MiB`);
  }
  return out;
}
