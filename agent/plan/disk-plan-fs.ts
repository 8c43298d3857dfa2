// Plans filesystems, the mount order and the fstab lines from <fsinfo>, with device names rewritten to the mapped disks.

import { findDevice, type BlockDevice } from '../disk/block-device.js';
import type { Emit } from './layout-xml-elements.js';
import { isMakeableFs, type Layout, type LayoutFsinfo } from './layout-types.js';
import type { FstabLine, PlannedFilesystem, PlannedMount } from './disk-plan-types.js';

const LABEL_MAX: Record<string, number> = { ext2: 16, ext3: 16, ext4: 16, xfs: 12, btrfs: 255, vfat: 11, msdos: 11, fat: 11, swap: 16 };
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const VFAT_ID_RE = /^[0-9a-f]{4}-?[0-9a-f]{4}$/i;
const FAT = ['vfat', 'msdos', 'fat'];

/** Rewrites a layout device name to the mapped one; LABEL=, UUID= and unknown names are kept. */
export function rewriteDevice(dev: string, deviceMap: Record<string, string>): string {
  return deviceMap[dev] ?? dev;
}

/** Depth of a mount point: `/` is 0, `/boot` 1, `/boot/efi` 2. */
export function mountDepth(mp: string): number {
  return mp.split('/').filter((s) => s !== '').length;
}

/** Plans mkfs, mounts and fstab; `consumed` maps layout devices used as RAID members or PVs to what uses them. */
export function planFilesystems(layout: Layout, deviceMap: Record<string, string>, consumed: Map<string, string>, found: BlockDevice[], emit: Emit): { filesystems: PlannedFilesystem[]; mounts: PlannedMount[]; fstab: FstabLine[] } {
  const filesystems: PlannedFilesystem[] = [];
  const mounts: (PlannedMount & { line: number })[] = [];
  const formatted = new Map<string, string>();
  const mps = new Map<string, string>();
  for (const f of layout.fsinfo) {
    if (f.realDev === null || f.fs === null || f.mp === null) continue;
    const planned = f.realDev in deviceMap;
    const noauto = (f.options ?? '').split(',').includes('noauto');
    if (!planned) {
      if (!f.realDev.startsWith('/dev/') || !isMakeableFs(f.fs)) continue; // proc, tmpfs, nfs, a CD-ROM: fstab only
      if (f.format) {
        emit(`${f.at} real_dev`, `${f.realDev} is not created by this layout (format="no" keeps an existing filesystem)`);
        continue;
      }
      if (!findDevice(found, f.realDev)) {
        if (!noauto) emit(`${f.at} real_dev`, `${f.realDev} does not exist on this machine`);
        continue;
      }
    }
    if (planned && !isMakeableFs(f.fs)) {
      emit(`${f.at} fs`, `"${f.fs}" is not a filesystem si-agent can make (ext2, ext3, ext4, xfs, btrfs, vfat, swap)`);
      continue;
    }
    if (consumed.has(f.realDev)) {
      emit(`${f.at} real_dev`, `${f.realDev} is already used by ${consumed.get(f.realDev)}`);
      continue;
    }
    if (formatted.has(f.realDev)) {
      emit(`${f.at} real_dev`, `${f.realDev} already holds the filesystem of ${formatted.get(f.realDev)}`);
      continue;
    }
    formatted.set(f.realDev, f.at);
    const device = planned ? rewriteDevice(f.realDev, deviceMap) : f.realDev;
    const { label, uuid } = readMountDev(f, emit);
    filesystems.push({ at: f.at, line: f.line, device, fs: f.fs, mkfsOpts: f.mkfsOpts, label, uuid, mp: f.mp, format: planned && f.format });
    if (f.fs === 'swap' || !f.mp.startsWith('/') || noauto) continue;
    if (mps.has(f.mp)) {
      emit(`${f.at} mp`, `${f.mp} is already the mount point of ${mps.get(f.mp)}`);
      continue;
    }
    mps.set(f.mp, f.at);
    const options = (f.options ?? '').split(',').filter((o) => /^(subvol|subvolid)=/.test(o));
    mounts.push({ device, mp: f.mp, fs: FAT.includes(f.fs) ? 'vfat' : f.fs, options, line: f.line });
  }
  if (layout.fsinfo.some((f) => f.realDev !== null) && !mps.has('/')) emit('<fsinfo> mp', 'no filesystem is mounted on /');
  mounts.sort((a, b) => mountDepth(a.mp) - mountDepth(b.mp) || a.line - b.line);
  return { filesystems, mounts: mounts.map(({ line: _l, ...m }) => m), fstab: planFstab(layout.fsinfo, deviceMap) };
}

function readMountDev(f: LayoutFsinfo, emit: Emit): { label: string | null; uuid: string | null } {
  const md = f.mountDev ?? '';
  const fs = f.fs ?? '';
  if (md.startsWith('LABEL=')) {
    const label = md.slice(6);
    const max = LABEL_MAX[fs] ?? 255;
    if (label.length === 0 || label.length > max) emit(`${f.at} mount_dev`, `label "${label}" must be 1-${max} characters for ${fs}`);
    return { label, uuid: null };
  }
  if (md.startsWith('UUID=')) {
    const uuid = md.slice(5);
    const ok = FAT.includes(fs) ? VFAT_ID_RE.test(uuid) : UUID_RE.test(uuid);
    if (!ok) emit(`${f.at} mount_dev`, `"${uuid}" is not a ${FAT.includes(fs) ? 'FAT volume id (XXXX-XXXX)' : 'UUID'}`);
    return { label: null, uuid };
  }
  return { label: null, uuid: null };
}

/** The fstab lines in `line` order: comments kept, device names rewritten (LABEL=/UUID= kept). */
export function planFstab(fsinfo: LayoutFsinfo[], deviceMap: Record<string, string>): FstabLine[] {
  return [...fsinfo]
    .sort((a, b) => a.line - b.line)
    .map((f) => {
      const comment = f.comment === null ? null : f.comment.trim() === '' || f.comment.trimStart().startsWith('#') ? f.comment : `# ${f.comment}`;
      if (f.realDev === null || f.mp === null || f.fs === null) return { line: f.line, text: comment ?? '' };
      // Stable names (/dev/disk/by-id/...) stay as written: they matched this disk and name it on the target too.
      const named = f.mountDev ?? f.realDev;
      const dev = named.startsWith('/dev/disk/') ? named : rewriteDevice(named, deviceMap);
      const entry = [dev, f.mp, f.fs, f.options ?? 'defaults', f.dump ?? '0', f.pass ?? '0'].join('\t');
      const text = comment === null ? entry : `${comment}\n${entry}`;
      // A plain device name (not LABEL=, UUID=, PARTUUID= or a /dev/disk/by-uuid|label link) is renamed to the
      // filesystem's UUID after mkfs (agent/disk/fstab-uuid.ts): the disk may boot under another name.
      return isDeviceName(named) ? { line: f.line, text, device: rewriteDevice(f.realDev, deviceMap), layoutDevice: named } : { line: f.line, text };
    });
}

/** True for a /dev path that names a device by where it sits, not by what it holds (by-uuid and by-label do the latter). */
export function isDeviceName(spec: string): boolean {
  return spec.startsWith('/dev/') && !/^\/dev\/disk\/by-(uuid|label|partuuid|partlabel)\//.test(spec);
}
