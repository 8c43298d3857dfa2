// Parses the <raid>, <lvm_group>/<lv> and <fsinfo> elements of a layout from their attributes.

import { dashNull, splitList } from './layout-xml-parts.js';
import { parseMiB, parseSizeSpec } from './layout-size.js';
import type { LayoutFsinfo, LayoutLv, LayoutRaid, LayoutVg } from './layout-types.js';

import type { Attrs, Emit } from './layout-types.js';

export type { Attrs, Emit } from './layout-types.js';

const RAID_LEVELS: Record<string, string> = {
  linear: 'linear', raid0: 'raid0', '0': 'raid0', stripe: 'raid0', raid1: 'raid1', '1': 'raid1', mirror: 'raid1',
  raid4: 'raid4', '4': 'raid4', raid5: 'raid5', '5': 'raid5', raid6: 'raid6', '6': 'raid6', raid10: 'raid10', '10': 'raid10',
};

/** Parses one <raid>; returns null after emitting problems. */
export function parseRaid(a: Attrs, index: number, emit: Emit): LayoutRaid | null {
  const name = a['name']?.trim() ?? '';
  const at = name ? `<raid name=${name}>` : `<raid #${index + 1}>`;
  let ok = true;
  if (!name) {
    emit(`${at} name`, 'missing');
    ok = false;
  } else if (!name.startsWith('/dev/md')) {
    emit(`${at} name`, `"${name}" is not an md device (/dev/mdN or /dev/md/NAME)`);
    ok = false;
  }
  const levelText = (a['raid_level'] ?? '').trim().toLowerCase();
  const level = RAID_LEVELS[levelText];
  if (!level) {
    emit(`${at} raid_level`, levelText ? `"${a['raid_level']}" is not a RAID level (raid0, raid1, raid5, raid6, raid10, linear)` : 'missing');
    ok = false;
  }
  const raidDevices = optionalInt(a, 'raid_devices', at, emit);
  const spareDevices = optionalInt(a, 'spare_devices', at, emit);
  const devices = splitList(a['devices'] ?? '');
  if (devices.length === 0) {
    emit(`${at} devices`, 'no member devices listed');
    ok = false;
  }
  if (typeof raidDevices === 'number' && devices.length > 0 && devices.length < raidDevices + (typeof spareDevices === 'number' ? spareDevices : 0)) {
    emit(`${at} devices`, `${devices.length} devices listed, raid_devices+spare_devices needs ${raidDevices + (typeof spareDevices === 'number' ? spareDevices : 0)}`);
    ok = false;
  }
  if (!ok || !level || raidDevices === undefined || spareDevices === undefined) return null;
  return {
    at, name, level, raidDevices, spareDevices,
    rounding: dashNull(a['rounding']), layout: dashNull(a['layout']), chunkSize: dashNull(a['chunk_size']),
    lvmGroup: dashNull(a['lvm_group']), devices,
  };
}

/** Parses one <lvm_group> with its <lv> children; returns null after emitting problems. */
export function parseLvmGroup(a: Attrs, lvAttrs: Attrs[], index: number, emit: Emit): LayoutVg | null {
  const name = a['name']?.trim() ?? '';
  const at = name ? `<lvm_group name=${name}>` : `<lvm_group #${index + 1}>`;
  let ok = true;
  if (!name) {
    emit(`${at} name`, 'missing');
    ok = false;
  } else if (!/^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$/.test(name)) {
    emit(`${at} name`, `"${name}" is not a valid volume group name`);
    ok = false;
  }
  const maxLogVols = optionalInt(a, 'max_log_vols', at, emit);
  const maxPhysVols = optionalInt(a, 'max_phys_vols', at, emit);
  let peSizeMiB: number | null = null;
  if (dashNull(a['phys_extent_size'])) {
    const s = parseMiB(a['phys_extent_size']!, 'KiB');
    if (typeof s === 'string') {
      emit(`${at} phys_extent_size`, s);
      ok = false;
    } else peSizeMiB = s;
  }
  const lvs: LayoutLv[] = [];
  lvAttrs.forEach((l, i) => {
    const lvName = l['name']?.trim() ?? '';
    const lvAt = `${at} ${lvName ? `<lv name=${lvName}>` : `<lv #${i + 1}>`}`;
    if (!lvName || !/^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$/.test(lvName)) {
      emit(`${lvAt} name`, lvName ? `"${lvName}" is not a valid logical volume name` : 'missing');
      ok = false;
      return;
    }
    const size = l['size'] === undefined ? 'missing' : parseSizeSpec(l['size'], 'MiB');
    if (typeof size === 'string') {
      emit(`${lvAt} size`, size);
      ok = false;
      return;
    }
    lvs.push({ at: lvAt, name: lvName, size, options: splitList(l['lv_options'] ?? '') });
  });
  if (!ok || maxLogVols === undefined || maxPhysVols === undefined) return null;
  return { at, name, maxLogVols, maxPhysVols, peSizeMiB, lvs };
}

/** Parses one <fsinfo>; comment-only lines need just `line`. Returns null after emitting problems. */
export function parseFsinfo(a: Attrs, index: number, emit: Emit): LayoutFsinfo | null {
  const lineText = a['line']?.trim() ?? '';
  const at = lineText ? `<fsinfo line=${lineText}>` : `<fsinfo #${index + 1}>`;
  let ok = true;
  if (!/^\d+$/.test(lineText)) {
    emit(`${at} line`, lineText ? `"${lineText}" is not a line number` : 'missing');
    ok = false;
  }
  const realDev = dashNull(a['real_dev']);
  const mp = dashNull(a['mp']);
  const fs = dashNull(a['fs'])?.toLowerCase() ?? null;
  const comment = a['comment'] ?? null;
  if (realDev !== null || mp !== null || fs !== null) {
    for (const [k, v] of [['real_dev', realDev], ['mp', mp], ['fs', fs]] as const) {
      if (v === null) {
        emit(`${at} ${k}`, 'missing');
        ok = false;
      }
    }
  } else if (comment === null) {
    emit(`${at} real_dev`, 'missing (an fsinfo line needs real_dev, mp and fs, or a comment)');
    ok = false;
  }
  const fmt = (a['format'] ?? 'yes').trim().toLowerCase();
  if (!['yes', 'y', 'true', '1', 'no', 'n', 'false', '0', ''].includes(fmt)) {
    emit(`${at} format`, `"${a['format']}" is not yes or no`);
    ok = false;
  }
  if (!ok) return null;
  return {
    at, line: Number(lineText), realDev, mountDev: dashNull(a['mount_dev']), mp, fs,
    mkfsOpts: splitList(a['mkfs_opts'] ?? ''), options: dashNull(a['options']),
    dump: dashNull(a['dump']), pass: dashNull(a['pass']), format: !['no', 'n', 'false', '0'].includes(fmt), comment,
  };
}

function optionalInt(a: Attrs, key: string, at: string, emit: Emit): number | null | undefined {
  const v = dashNull(a[key]);
  if (v === null) return null;
  if (!/^\d+$/.test(v)) {
    emit(`${at} ${key}`, `"${v}" is not a whole number`);
    return undefined;
  }
  return Number(v);
}
