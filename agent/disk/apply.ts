// Applies a checked DiskPlan: re-check, wipe, partition, RAID, LVM, mkfs, mount under the sysroot; records how far it got.

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SiError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import type { Reporter } from '../report/events.js';
import type { DiskPlan } from '../plan/disk-plan-types.js';
import { findDevice, type BlockDevice } from './block-device.js';
import type { BusyDevice } from './busy.js';
import { assertSafeToWrite } from './apply-guard.js';
import { buildLvmCommands, buildMdadmCreate, buildMkfsCommand, buildMountCommand, buildPartedCommand, type Command } from './disk-commands.js';
import { advanceDisks, createDiskState, describeDiskState, type DiskState } from './disk-state.js';
import { probeDisksAndBusy } from './probe.js';
import { buildStaleWipeCommands } from './stale-signatures.js';
import { isBlockDevice, waitForDevices } from './wait-device.js';

/** What applyDiskPlan works with: the runner, the event stream, the target root, and test seams. */
export interface ApplyContext {
  run: Runner;
  report: Reporter;
  sysroot: string;
  signal?: AbortSignal;
  /** Devices and busy list for the last safety check; defaults to lsblk + /proc + /sys. */
  probe?: () => Promise<{ devices: BlockDevice[]; busy: BusyDevice[] }>;
  /** Whether a device node exists; defaults to a stat. */
  exists?: (path: string) => Promise<boolean>;
  /** Milliseconds to wait for device nodes to appear. Default 15000. */
  deviceTimeoutMs?: number;
}

/** A disk step failed: the cause, plus the state every disk was left in. */
export class DiskApplyError extends SiError {
  readonly state: DiskState;
  constructor(cause: unknown, state: DiskState) {
    const code = cause instanceof SiError ? cause.code : 'E_DISK';
    const msg = cause instanceof Error ? cause.message : String(cause);
    const details = [...(cause instanceof SiError ? cause.details : []), 'disk state:', ...describeDiskState(state).map((l) => `  ${l}`)];
    super(code, `disk setup failed: ${msg}`, { cause, details });
    this.name = 'DiskApplyError';
    this.state = state;
  }
}

/** Runs the whole plan; refuses (writing nothing) when a disk is busy, missing or not allowed. */
export async function applyDiskPlan(plan: DiskPlan, ctx: ApplyContext): Promise<DiskState> {
  const state = createDiskState(plan);
  const { devices, busy } = await (ctx.probe ?? (() => probeDisksAndBusy(ctx.run)))();
  assertSafeToWrite(plan, devices, busy);
  const exec = (c: Command) => ctx.run(c.tool, c.args, { timeout: 600_000, signal: ctx.signal });
  const waitFor = async (paths: string[], what: string) => {
    const missing = await waitForDevices(paths, ctx.deviceTimeoutMs ?? 15_000, ctx.exists ?? isBlockDevice, ctx.signal);
    if (missing.length) throw new SiError('E_DISK', `${what}: device nodes did not appear: ${missing.join(' ')}`);
  };
  try {
    for (const d of plan.disks) {
      // What an earlier install left in the old partitions goes first, while the old table still says where it is.
      const old = findDevice(devices, d.device);
      for (const c of old ? buildStaleWipeCommands(old) : []) {
        const r = await ctx.run(c.tool, c.args, { allowFail: true, timeout: 120_000, signal: ctx.signal });
        if (r.code !== 0) ctx.report.warn(`${[c.tool, ...c.args].join(' ')} failed (${r.stderr.trim() || `exit code ${r.code}`}); going on`);
      }
      await exec({ tool: 'wipefs', args: ['-a', d.device] });
      advanceDisks(state, 'wiped', d.device);
      await exec(buildPartedCommand(d));
      advanceDisks(state, 'partitioned', d.device);
      await rereadPartitions(ctx, d.device, d.parts.map((p) => p.device), waitFor);
      // Old md/LVM/fs signatures may sit where the new partitions start; clear them (not the extended container).
      await settleAll(d.parts.filter((p) => p.pType !== 'extended').map((p) => exec({ tool: 'wipefs', args: ['-a', p.device] })));
    }
    for (const r of plan.raids) {
      await exec(buildMdadmCreate(r));
      state.raids.find((x) => x.device === r.device)!.created = true;
      await waitFor([r.device], `mdadm --create ${r.device}`);
      // A new array over the old members' data offset shows the old array's contents (an LVM label, a filesystem).
      await exec({ tool: 'wipefs', args: ['-a', r.device] });
    }
    for (const vg of plan.vgs) {
      for (const c of buildLvmCommands(vg)) await exec(c);
      state.vgs.find((x) => x.name === vg.name)!.created = true;
      await waitFor(vg.lvs.map((l) => l.device), `logical volumes of ${vg.name}`);
    }
    // Each filesystem is on its own device: they are made side by side.
    await settleAll(plan.filesystems.map(async (f) => {
      if (!f.format) {
        ctx.report.info(`keeping the filesystem on ${f.device} (format="no")`);
        return;
      }
      await exec(buildMkfsCommand(f));
      state.filesystems.find((x) => x.device === f.device)!.made = true;
    }));
    advanceDisks(state, 'formatted');
    await mountAll(plan, ctx, state, exec);
    advanceDisks(state, 'mounted');
    return state;
  } catch (err) {
    throw new DiskApplyError(err, state);
  }
}

/** Waits for every one of the tasks, then throws the first failure (none is left running behind an error). */
async function settleAll(tasks: Array<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(tasks)).find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

async function rereadPartitions(ctx: ApplyContext, disk: string, parts: string[], waitFor: (p: string[], w: string) => Promise<void>): Promise<void> {
  await ctx.run('partprobe', [disk], { allowFail: true, timeout: 60_000, signal: ctx.signal });
  // With udev running, let it create the nodes and /dev/disk/by-* links before we look; without it devtmpfs does.
  if (existsSync('/run/udev/control')) await ctx.run('udevadm', ['settle', '--timeout=30'], { allowFail: true, timeout: 60_000, signal: ctx.signal });
  const missing = await waitForDevices(parts, 3000, ctx.exists ?? isBlockDevice, ctx.signal);
  if (missing.length === 0) return;
  ctx.report.warn(`partitions of ${disk} not there after partprobe (${missing.join(' ')}); asking the kernel to re-read`);
  await ctx.run('blockdev', ['--rereadpt', disk], { allowFail: true, timeout: 60_000, signal: ctx.signal });
  await waitFor(parts, `partitions of ${disk}`);
}

async function mountAll(plan: DiskPlan, ctx: ApplyContext, state: DiskState, exec: (c: Command) => Promise<unknown>): Promise<void> {
  for (const m of plan.mounts) {
    const path = m.mp === '/' ? ctx.sysroot : join(ctx.sysroot, m.mp);
    await mkdir(path, { recursive: true });
    await exec(buildMountCommand(m, path));
    state.mounted.push({ device: m.device, path });
  }
}
