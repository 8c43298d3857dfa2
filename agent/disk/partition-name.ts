// Kernel partition device names: sda1, nvme0n1p1, mmcblk0p1, loop3p1, md0p1, by-id links as -partN.

/** The device name of partition n of a disk, by the kernel's rules (a `p` when the disk name ends in a digit). */
export function partitionDevice(disk: string, n: number): string {
  if (/^\/dev\/disk\/by-[a-z]+\//.test(disk)) return `${disk}-part${n}`;
  return /\d$/.test(disk) ? `${disk}p${n}` : `${disk}${n}`;
}

/** Splits a partition device into disk and number, or null when it does not look like one. */
export function splitPartitionDevice(dev: string): { disk: string; num: number } | null {
  const link = /^(\/dev\/disk\/by-[a-z]+\/.+)-part(\d+)$/.exec(dev);
  if (link) return { disk: link[1]!, num: Number(link[2]) };
  const withP = /^(.*\d)p(\d+)$/.exec(dev);
  if (withP) return { disk: withP[1]!, num: Number(withP[2]) };
  const plain = /^(.*[^\d])(\d+)$/.exec(dev);
  if (plain && !/\d$/.test(plain[1]!) && !/\/(md|loop|nvme\d+n|mmcblk|dm-)$/.test(plain[1]!)) return { disk: plain[1]!, num: Number(plain[2]) };
  return null;
}
