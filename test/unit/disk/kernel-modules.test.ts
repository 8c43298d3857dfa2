// Unit: the kernel modules a disk plan needs, derived from its filesystems, RAID levels and volume groups.

import { describe, expect, it } from 'vitest';
import { modulesForPlan } from '../../../agent/disk/kernel-modules.js';
import type { DiskPlan } from '../../../agent/plan/disk-plan-types.js';

const plan = (p: Partial<DiskPlan>): DiskPlan => ({ source: 't', allowed: null, disks: [], raids: [], vgs: [], filesystems: [], mounts: [], fstab: [], deviceMap: {}, ...p }) as DiskPlan;
const fs = (t: string) => ({ fs: t }) as DiskPlan['filesystems'][number];

describe('modulesForPlan', () => {
  it('loads each filesystem driver once; ext2/3 come from ext4, swap needs none', () => {
    expect(modulesForPlan(plan({ filesystems: [fs('ext3'), fs('ext4'), fs('swap'), fs('xfs'), fs('vfat')] }))).toEqual(['ext4', 'xfs', 'vfat', 'nls_cp437', 'nls_ascii', 'nls_iso8859_1']);
  });
  it('md and the RAID level modules, device-mapper for LVM', () => {
    const raids = [{ level: 'raid1' }, { level: '5' }] as DiskPlan['raids'];
    expect(modulesForPlan(plan({ raids, vgs: [{}] as DiskPlan['vgs'], filesystems: [fs('btrfs')] }))).toEqual(['btrfs', 'md_mod', 'raid1', 'raid456', 'dm_mod']);
  });
  it('a plan with nothing to load loads nothing', () => {
    expect(modulesForPlan(plan({ filesystems: [fs('swap')] }))).toEqual([]);
  });
});
