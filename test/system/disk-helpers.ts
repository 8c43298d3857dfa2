// Loop-device fixtures for the disk system tests: sparse files, losetup, and a teardown that runs even on failure.

import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRunner, type Runner } from '../../agent/exec/runner.js';
import { Reporter, type SiEvent } from '../../agent/report/events.js';

export const isRoot = process.getuid?.() === 0;
/** md RAID needs the md driver (absent from some CI kernels). */
export const hasMd = existsSync('/proc/mdstat');
/** LVM needs device-mapper in the kernel, not just /dev/mapper/control. */
export const hasDm = existsSync('/proc/misc') && readFileSync('/proc/misc', 'utf8').includes('device-mapper');

export interface LoopLab {
  dir: string;
  sysroot: string;
  run: Runner;
  report: Reporter;
  events: SiEvent[];
  loops: string[];
  /** Makes a sparse file of `mib` MiB and attaches it with partition scanning; returns /dev/loopN. */
  addLoop(mib: number): Promise<string>;
  /** Unmounts everything under dir, stops md arrays and VGs named, detaches loops, removes files. */
  cleanup(opts?: { raids?: string[]; vgs?: string[]; zero?: string[] }): Promise<void>;
}

/** Creates a temporary lab directory with a sysroot inside. */
export async function createLoopLab(name: string): Promise<LoopLab> {
  const dir = await mkdtemp(join(tmpdir(), `si-${name}-`));
  const report = new Reporter();
  const events: SiEvent[] = [];
  report.addSink((e) => events.push(e));
  const run = createRunner(report);
  const loops: string[] = [];
  const lab: LoopLab = {
    dir, sysroot: join(dir, 'sysroot'), run, report, events, loops,
    async addLoop(mib) {
      const file = join(dir, `disk${loops.length}.img`);
      await run('truncate', ['-s', `${mib}M`, file]);
      const res = await run('losetup', ['-fP', '--show', file]);
      const dev = res.stdout.trim();
      loops.push(dev);
      return dev;
    },
    async cleanup(opts = {}) {
      const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(dir));
      for (const m of mounts.reverse()) await run('umount', ['-l', m], { allowFail: true });
      const swaps = readFileSync('/proc/swaps', 'utf8');
      for (const l of loops) if (swaps.includes(l)) await run('swapoff', [l], { allowFail: true });
      for (const vg of opts.vgs ?? []) {
        await run('lvm', ['vgchange', '-an', vg], { allowFail: true });
        await run('lvm', ['vgremove', '-ff', '-y', vg], { allowFail: true });
      }
      for (const md of opts.raids ?? []) await run('mdadm', ['--stop', md], { allowFail: true });
      for (const z of opts.zero ?? []) await run('mdadm', ['--zero-superblock', '--force', z], { allowFail: true });
      for (const l of loops) {
        await run('losetup', ['-d', l], { allowFail: true });
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  return lab;
}

/** Mount points (in /proc/self/mounts order) under a directory, with their devices. */
export function mountsUnder(dir: string): { device: string; mp: string; fs: string }[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => (f[1] ?? '').startsWith(dir))
    .map((f) => ({ device: f[0]!, mp: f[1]!, fs: f[2]! }));
}

/** blkid's TYPE, LABEL, UUID of a device (from the superblock, no cache). */
export async function readBlkid(run: Runner, dev: string): Promise<Record<string, string>> {
  const res = await run('blkid', ['-p', '-o', 'export', dev], { allowFail: true });
  const out: Record<string, string> = {};
  for (const l of res.stdout.split('\n')) {
    const i = l.indexOf('=');
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

/** `parted -m print` partition lines: num:start:end:size:fs:name:flags (MiB). */
export async function readPartedTable(run: Runner, dev: string): Promise<{ label: string; parts: string[] }> {
  const res = await run('parted', ['-m', '-s', dev, 'unit', 'MiB', 'print']);
  const lines = res.stdout.trim().split('\n').map((l) => l.replace(/;$/, ''));
  return { label: lines[1]!.split(':')[5]!, parts: lines.slice(2) };
}
