// Scratch filesystems for system tests (root): an ext4 loop device, a tmpfs or a ramfs, each torn down by its cleanup.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ScratchFs {
  dir: string;
  /** Unmounts and detaches; safe to call twice, never throws. */
  cleanup(): void;
}

function tryRun(argv: string[]): void {
  try {
    execFileSync(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  } catch {
    /* best-effort teardown */
  }
}

/** Makes, formats and mounts an ext4 filesystem on a new loop device backed by a sparse file under workDir. */
export function mountExt4Loop(workDir: string, name: string, sizeMB = 160): ScratchFs {
  const img = path.join(workDir, `${name}.img`);
  const dir = path.join(workDir, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.closeSync(fs.openSync(img, 'w'));
  fs.truncateSync(img, sizeMB * 1024 * 1024);
  const dev = execFileSync('losetup', ['--find', '--show', img], { encoding: 'utf8' }).trim();
  let mounted = false;
  const cleanup = () => {
    if (mounted) tryRun(['umount', dir]);
    mounted = false;
    tryRun(['losetup', '-d', dev]);
  };
  try {
    execFileSync('mkfs.ext4', ['-q', '-F', dev], { stdio: 'ignore' });
    execFileSync('mount', [dev, dir], { stdio: 'ignore' });
    mounted = true;
  } catch (e) {
    cleanup();
    throw e;
  }
  return { dir, cleanup };
}

/** Mounts a memory filesystem (tmpfs keeps xattrs and ACLs; ramfs keeps neither) on a new directory under workDir. */
export function mountMemoryFs(workDir: string, name: string, type: 'tmpfs' | 'ramfs'): ScratchFs {
  const dir = path.join(workDir, name);
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', type, '-o', type === 'tmpfs' ? 'size=256m' : 'mode=0755', `si-test-${name}`, dir], { stdio: 'ignore' });
  let mounted = true;
  return {
    dir,
    cleanup: () => {
      if (mounted) tryRun(['umount', dir]);
      mounted = false;
    },
  };
}
