// What an earlier install (finished or cut off by a power loss) left inside a disk's partitions: md superblocks, LVM
// labels and filesystem signatures are cleared through the old table, before the new table puts partitions elsewhere.

import type { BlockDevice } from './block-device.js';
import type { Command } from './disk-commands.js';

/** The partitions the disk has now (lsblk's children of type part), in order. */
export function currentPartitions(disk: BlockDevice): BlockDevice[] {
  return disk.children.filter((c) => c.type === 'part');
}

/**
 * Commands that clear every signature on the disk's current partitions and then on the disk itself: `mdadm
 * --zero-superblock` for RAID members (any metadata version, wherever it sits) and `wipefs -a` for everything
 * blkid knows (md, LVM2_member, filesystems, swap). Only this disk's own devices are named.
 */
export function buildStaleWipeCommands(disk: BlockDevice): Command[] {
  const out: Command[] = [];
  for (const dev of [...currentPartitions(disk), disk]) {
    if (dev.fstype === 'linux_raid_member') out.push({ tool: 'mdadm', args: ['--zero-superblock', '--force', dev.path] });
    if (dev !== disk) out.push({ tool: 'wipefs', args: ['-a', dev.path] });
  }
  return out;
}
