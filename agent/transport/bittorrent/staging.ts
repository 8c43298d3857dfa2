// Where a BitTorrent tarball is kept while it downloads and seeds (SPEC 7): BITTORRENT_STAGING, else the first place with room.

import { existsSync, mkdirSync, readFileSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { SiError } from '../../errors.js';

/** Room kept free beyond the tarball's size, as SystemImager did. */
export const STAGING_SLACK = 100 * 1024 * 1024;

export interface StagingOptions {
  /** BITTORRENT_STAGING when set: used as given, or a clear error. */
  explicit?: string;
  /** The initrd's /tmp. */
  tmp: string;
  /** The target's root (its /tmp is the second choice). */
  sysroot: string;
  /** /proc/self/mounts, for the other mounted filesystems. */
  procMounts: string;
  /** Free bytes of the filesystem holding a directory (tests pass their own). */
  freeBytes?: (dir: string) => number;
}

const NOT_STORAGE = /^(proc|sysfs|devtmpfs|devpts|cgroup2?|securityfs|debugfs|tracefs|pstore|bpf|mqueue|hugetlbfs|configfs|fusectl|autofs|binfmt_misc|efivarfs|nsfs|overlay|squashfs|iso9660|rpc_pipefs|ramfs|rootfs)$/;

/** The first directory with room for size + 100 MB: BITTORRENT_STAGING, /tmp, the target's /tmp, other mounts. */
export function chooseStaging(size: number, opts: StagingOptions): string {
  const free = opts.freeBytes ?? freeBytesOf;
  const need = size + STAGING_SLACK;
  const seen: Array<{ dir: string; free: number }> = [];
  const candidates = opts.explicit ? [opts.explicit] : [opts.tmp, join(opts.sysroot, 'tmp'), ...otherMounts(opts.procMounts, opts.sysroot)];
  for (const dir of [...new Set(candidates)]) {
    let room: number;
    try {
      room = free(nearestExisting(dir));
    } catch {
      continue;
    }
    seen.push({ dir, free: room });
    if (room >= need) {
      mkdirSync(dir, { recursive: true });
      return dir;
    }
  }
  const where = seen.map((s) => `${s.dir} has ${mb(s.free)} free`).join(', ') || 'no candidate directory exists';
  const what = opts.explicit ? `BITTORRENT_STAGING=${opts.explicit}` : 'any staging place';
  throw new SiError('E_TRANSFER', `no room for the BitTorrent tarball in ${what}: it needs ${mb(size)} + ${mb(STAGING_SLACK)}; ${where}`);
}

/** Mount points of writable storage filesystems outside the target, from /proc/self/mounts text. */
export function parseStorageMounts(text: string, sysroot: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const [, mnt, type, options] = line.split(' ');
    if (!mnt || !type || !options || NOT_STORAGE.test(type) || !options.split(',').includes('rw')) continue;
    const dir = mnt.replace(/\\040/g, ' ');
    if (dir === sysroot || dir.startsWith(sysroot + '/')) continue;
    out.push(dir);
  }
  return out;
}

function otherMounts(procMounts: string, sysroot: string): string[] {
  try {
    return parseStorageMounts(readFileSync(procMounts, 'utf8'), sysroot);
  } catch {
    return [];
  }
}

function nearestExisting(dir: string): string {
  let d = dir;
  while (!existsSync(d) && d !== '/' && d !== '.') d = join(d, '..');
  return d;
}

function freeBytesOf(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

function mb(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
