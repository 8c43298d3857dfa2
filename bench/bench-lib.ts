// What the install benchmarks share: a two-partition layout, loop disks, medians, a warm page cache.

import { execFileSync, spawn } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** gpt: 256 MB swap, the rest ext4 root (LABEL=root): the same layout for the agent and for any bare baseline. */
export const SWAP_ROOT_LAYOUT = `<config>
  <disk dev="/dev/sda" label_type="gpt" unit_of_measurement="MB">
    <part num="1" size="256" p_type="primary" p_name="swap" flags="-" />
    <part num="2" size="*" p_type="primary" p_name="root" flags="-" />
  </disk>
  <fsinfo line="10" real_dev="/dev/sda2" mount_dev="LABEL=root" mp="/" fs="ext4" options="defaults" dump="1" pass="1" />
  <fsinfo line="20" real_dev="/dev/sda1" mp="swap" fs="swap" options="defaults" dump="0" pass="0" />
</config>
`;

/** Runs a command (argv), returns its stdout; throws with its stderr on failure. */
export const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

/** A sparse file of mib attached as a loop device with partition scanning (made anew each time). */
export function newLoop(dir: string, name: string, mib: number): string {
  const file = join(dir, `${name}.img`);
  rmSync(file, { force: true });
  const fd = openSync(file, 'w');
  ftruncateSync(fd, mib * 1024 * 1024);
  closeSync(fd);
  return sh('losetup', ['-fP', '--show', file]).trim();
}

/** The median of the numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** The agent's `peak RSS N MiB` figure from its log or events text, or 0. */
export function peakRssOf(text: string): number {
  return Math.max(0, ...[...text.matchAll(/peak RSS ([\d.]+) MiB/g)].map((m) => Number(m[1])));
}

/** Reads every file of dir once, so the first timed run does not pay for a cold page cache. */
export async function warmCache(dir: string): Promise<void> {
  const tar = spawn('tar', ['-cf', '-', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'ignore'] });
  tar.stdout.resume();
  await new Promise((r) => tar.on('close', r));
}
