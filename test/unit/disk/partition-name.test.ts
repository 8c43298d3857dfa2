import { describe, expect, it } from 'vitest';
import { partitionDevice, splitPartitionDevice } from '../../../agent/disk/partition-name.js';

const table: [string, number, string][] = [
  ['/dev/sda', 1, '/dev/sda1'],
  ['/dev/sdaa', 12, '/dev/sdaa12'],
  ['/dev/vdb', 2, '/dev/vdb2'],
  ['/dev/hda', 5, '/dev/hda5'],
  ['/dev/xvda', 1, '/dev/xvda1'],
  ['/dev/nvme0n1', 1, '/dev/nvme0n1p1'],
  ['/dev/nvme10n2', 3, '/dev/nvme10n2p3'],
  ['/dev/mmcblk0', 1, '/dev/mmcblk0p1'],
  ['/dev/loop3', 1, '/dev/loop3p1'],
  ['/dev/md0', 1, '/dev/md0p1'],
  ['/dev/cciss/c0d0', 2, '/dev/cciss/c0d0p2'],
  ['/dev/disk/by-id/ata-Disk_X1', 2, '/dev/disk/by-id/ata-Disk_X1-part2'],
  ['/dev/disk/by-path/pci-0000:00:1f.2-ata-1', 1, '/dev/disk/by-path/pci-0000:00:1f.2-ata-1-part1'],
];

describe('partitionDevice', () => {
  it.each(table)('%s partition %i is %s', (disk, n, want) => {
    expect(partitionDevice(disk, n)).toBe(want);
    expect(splitPartitionDevice(want)).toEqual({ disk, num: n });
  });
  it('does not split whole disks', () => {
    expect(splitPartitionDevice('/dev/loop3')).toBeNull();
    expect(splitPartitionDevice('/dev/md0')).toBeNull();
    expect(splitPartitionDevice('/dev/nvme0n1')).toBeNull();
    expect(splitPartitionDevice('/dev/sda')).toBeNull();
  });
});
