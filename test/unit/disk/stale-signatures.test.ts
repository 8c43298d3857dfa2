import { describe, expect, it } from 'vitest';
import { buildStaleWipeCommands } from '../../../agent/disk/stale-signatures.js';
import { fakeDisk, fakePart } from './fake-devices.js';

const line = (c: { tool: string; args: string[] }) => [c.tool, ...c.args].join(' ');

describe('stale signatures of an earlier install', () => {
  it('zeroes md superblocks and wipes every current partition, through the old table', () => {
    const disk = fakeDisk('vda', 1200, {
      children: [
        fakePart('vda1', 64, { fstype: 'swap' }),
        fakePart('vda2', 1000, { fstype: 'linux_raid_member', children: [fakeDisk('md0', 990, { type: 'raid1', fstype: 'LVM2_member' })] }),
        fakePart('vda3', 100, { fstype: 'LVM2_member' }),
      ],
    });
    expect(buildStaleWipeCommands(disk).map(line)).toEqual([
      'wipefs -a /dev/vda1',
      'mdadm --zero-superblock --force /dev/vda2',
      'wipefs -a /dev/vda2',
      'wipefs -a /dev/vda3',
    ]);
  });

  it('a RAID member as a whole disk is zeroed too; a blank disk needs nothing', () => {
    expect(buildStaleWipeCommands(fakeDisk('vdb', 600, { fstype: 'linux_raid_member' })).map(line)).toEqual(['mdadm --zero-superblock --force /dev/vdb']);
    expect(buildStaleWipeCommands(fakeDisk('vdc', 600))).toEqual([]);
  });
});
