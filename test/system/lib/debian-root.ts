// The debootstrapped Debian root the target tests configure: built once into .cache/debootstrap (about 3 minutes).

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const CACHE = join(__dirname, '../../../.cache/debootstrap');
const BUILD = join(__dirname, '../../../fixtures/target/build-debian-root.sh');

/** The cached Debian root, or why it cannot be had (not root, no debootstrap, the build failed). */
export function debianRoot(): { root?: string; why?: string } {
  if (process.getuid?.() !== 0) return { why: 'needs root' };
  if (!existsSync('/usr/sbin/debootstrap')) return { why: 'debootstrap is not installed (apt-get install -y debootstrap)' };
  const r = spawnSync(BUILD, [CACHE], { encoding: 'utf8', timeout: 15 * 60 * 1000 });
  return r.status === 0 ? { root: r.stdout.trim() } : { why: `could not build the Debian cache: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}` };
}
