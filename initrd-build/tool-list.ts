// The programs the standard-flavor initrd carries besides busybox, and the links each needs.

export interface ToolSpec {
  name: string;
  /** Leave it out, with a warning, when the build host lacks it. */
  optional?: boolean;
  /** Extra names (same directory) that are symlinks to this program. */
  links?: string[];
}

const LVM_LINKS = (
  'pvcreate pvremove pvs pvscan pvdisplay pvchange pvresize vgcreate vgremove vgchange vgs vgscan vgdisplay ' +
  'vgextend vgreduce vgmknodes lvcreate lvremove lvchange lvs lvscan lvdisplay lvextend lvresize lvreduce'
).split(' ');

const KMOD_LINKS = ['modprobe', 'insmod', 'rmmod', 'lsmod', 'modinfo', 'depmod'];

/** Real tools for disks, filesystems, transports and kexec; a busybox applet never shadows one of these. */
export const TOOLS: ToolSpec[] = [
  // dash as /bin/sh: Debian's static busybox ash prefers its own applets over PATH, so scripts would get busybox mount.
  { name: 'dash', links: ['sh'] },
  // Run mode runs a 4.3 master with bash (BASH_ENV traces each of its lines into the log).
  { name: 'bash' },
  { name: 'parted' },
  { name: 'partprobe' },
  { name: 'mke2fs', links: ['mkfs.ext2', 'mkfs.ext3', 'mkfs.ext4'] },
  { name: 'tune2fs', links: ['e2label'] },
  { name: 'e2fsck', links: ['fsck.ext2', 'fsck.ext3', 'fsck.ext4'] },
  { name: 'resize2fs', optional: true },
  { name: 'mkfs.xfs' },
  // xfs_admin (a sh script running xfs_db, and xfs_repair only for -c/-O) sets the labels and UUIDs 4.3 masters give.
  { name: 'xfs_db' },
  { name: 'xfs_admin' },
  { name: 'xfs_repair', optional: true },
  { name: 'mkfs.btrfs' },
  { name: 'btrfs', optional: true },
  { name: 'mkfs.fat', links: ['mkfs.vfat', 'mkfs.msdos', 'mkdosfs'] },
  { name: 'fatlabel', optional: true },
  { name: 'mkswap' },
  { name: 'swapon' },
  { name: 'swapoff' },
  { name: 'wipefs' },
  { name: 'blkid' },
  { name: 'lsblk' },
  { name: 'losetup' },
  { name: 'blockdev' },
  { name: 'findmnt' },
  { name: 'mount' },
  { name: 'umount' },
  // 4.3 masters run `sfdisk --change-id DEV N ID` (util-linux 2.38 keeps it as a deprecated --part-type).
  { name: 'sfdisk' },
  { name: 'sgdisk', optional: true },
  { name: 'mdadm' },
  { name: 'lvm', links: LVM_LINKS },
  { name: 'dmsetup' },
  { name: 'rsync' },
  // GNU tar for 4.3 masters' `tar -xzSpf` (BitTorrent); -z runs busybox's gzip applet. Listed here, busybox tar stays out.
  { name: 'tar' },
  // 4.3 masters compute partition bounds in MB with bc.
  { name: 'bc' },
  { name: 'udp-receiver' },
  // The tar extractor (multicast, BitTorrent) sets xattrs/ACLs in one setfattr run and unpacks .tar.zst through zstd.
  { name: 'setfattr' },
  { name: 'zstd', optional: true },
  { name: 'kexec' },
  { name: 'ip' },
  // Name servers and search domains from router advertisements (RDNSS, DNSSL) for a link configured by SLAAC alone.
  { name: 'rdisc6' },
  { name: 'kmod', links: KMOD_LINKS },
  // The agent's PID 1 runs the install under `tini -s` so orphaned daemons are reaped.
  { name: 'tini' },
  { name: 'ssh' },
  { name: 'sshd', optional: true },
  { name: 'ssh-keygen', optional: true },
  // An operator's shell over the agent's SSH server (SSHD=y) gets its pty from util-linux script.
  { name: 'script' },
];

/** Host data files the tools read at run time, copied when present. */
export const HOST_DATA_FILES = ['/etc/mke2fs.conf'];
