// Pure argv builders for parted, mdadm, lvm, mkfs and mount, from the plan (tested without root).

import type { PlannedDisk, PlannedFilesystem, PlannedLv, PlannedMount, PlannedRaid, PlannedVg } from '../plan/disk-plan-types.js';

/** One command: a tool name from the TOOLS table and its arguments. */
export interface Command {
  tool: string;
  args: string[];
}

/** parted in script mode: new label, every partition at exact MiB boundaries, names on gpt, flags. */
export function buildPartedCommand(disk: PlannedDisk): Command {
  const args = ['-s', '-a', 'optimal', disk.device, 'unit', 'MiB', 'mklabel', disk.labelType];
  for (const p of disk.parts) {
    const first = disk.labelType === 'gpt' ? (p.name ?? 'primary') : p.pType;
    // parted rejects an END of exactly the disk size ("outside of the device"); 100% is its last sector.
    const end = p.endMiB >= disk.sizeMiB ? '100%' : `${p.endMiB}MiB`;
    args.push('mkpart', first, ...(p.partedFsType ? [p.partedFsType] : []), `${p.startMiB}MiB`, end);
  }
  for (const p of disk.parts) for (const f of p.flags) args.push('set', String(p.num), f, 'on');
  return { tool: 'parted', args };
}

/**
 * mdadm --create. No --assume-clean: the initial resync runs in the background while the image is laid down,
 * and skipping it would leave RAID5/6 parity (and RAID1 mismatch counts) wrong until the first check.
 */
export function buildMdadmCreate(r: PlannedRaid): Command {
  const args = ['--create', r.device, '--run', `--metadata=${r.metadata}`, `--level=${r.level}`, `--raid-devices=${r.raidDevices}`];
  if (r.spareDevices > 0) args.push(`--spare-devices=${r.spareDevices}`);
  if (r.chunkSize) args.push(`--chunk=${r.chunkSize}`);
  if (r.layout) args.push(`--layout=${r.layout}`);
  if (r.rounding) args.push(`--rounding=${r.rounding}`);
  args.push(...r.members);
  return { tool: 'mdadm', args };
}

/** pvcreate for each PV, vgcreate, then lvcreate: fixed sizes first, percentages next, `*` last so it takes the rest. */
export function buildLvmCommands(vg: PlannedVg): Command[] {
  const out: Command[] = vg.pvs.map((pv) => ({ tool: 'lvm', args: ['pvcreate', '-ff', '-y', pv] }));
  const vgArgs = ['vgcreate', '-y', '-s', `${Math.round(vg.peSizeMiB * 1024)}k`];
  if (vg.maxLogVols) vgArgs.push('-l', String(vg.maxLogVols));
  if (vg.maxPhysVols) vgArgs.push('-p', String(vg.maxPhysVols));
  out.push({ tool: 'lvm', args: [...vgArgs, vg.name, ...vg.pvs] });
  const order = (l: PlannedLv) => (l.grow ? 2 : l.percent !== null ? 1 : 0);
  for (const lv of [...vg.lvs].sort((a, b) => order(a) - order(b))) {
    const size = lv.grow ? ['-l', '100%FREE'] : lv.percent !== null ? ['-l', `${lv.percent}%VG`] : ['-L', `${lv.sizeMiB}m`];
    out.push({ tool: 'lvm', args: ['lvcreate', '-y', '-Wy', '-Zy', '-n', lv.name, ...size, ...lv.options, vg.name] });
  }
  return out;
}

/** mkfs for one filesystem, with the label and UUID from mount_dev. */
export function buildMkfsCommand(f: PlannedFilesystem): Command {
  const opts = f.mkfsOpts;
  switch (f.fs) {
    case 'ext2': case 'ext3': case 'ext4':
      return { tool: `mkfs.${f.fs}`, args: ['-F', ...(f.label !== null ? ['-L', f.label] : []), ...(f.uuid ? ['-U', f.uuid] : []), ...opts, f.device] };
    case 'xfs':
      return { tool: 'mkfs.xfs', args: ['-f', ...(f.label !== null ? ['-L', f.label] : []), ...(f.uuid ? ['-m', `uuid=${f.uuid}`] : []), ...opts, f.device] };
    case 'btrfs':
      return { tool: 'mkfs.btrfs', args: ['-f', ...(f.label !== null ? ['-L', f.label] : []), ...(f.uuid ? ['-U', f.uuid] : []), ...opts, f.device] };
    case 'vfat': case 'msdos': case 'fat':
      return { tool: 'mkfs.vfat', args: [...(f.label !== null ? ['-n', f.label] : []), ...(f.uuid ? ['-i', f.uuid.replace('-', '')] : []), ...opts, f.device] };
    case 'swap':
      return { tool: 'mkswap', args: ['-f', ...(f.label !== null ? ['-L', f.label] : []), ...(f.uuid ? ['-U', f.uuid] : []), ...opts, f.device] };
    default:
      throw new Error(`no mkfs for ${f.fs}`);
  }
}

/** mount for one planned mount under the sysroot directory `target`. */
export function buildMountCommand(m: PlannedMount, target: string): Command {
  return { tool: 'mount', args: ['-t', m.fs, ...(m.options.length ? ['-o', m.options.join(',')] : []), m.device, target] };
}
