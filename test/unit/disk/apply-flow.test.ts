// applyDiskPlan's order of work and its failure report, through a recording runner (no root; md and
// device-mapper are not available on this CI kernel, so RAID/LVM sequences are checked here).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { applyDiskPlan, DiskApplyError } from '../../../agent/disk/apply.js';
import { CommandError } from '../../../agent/errors.js';
import type { Runner } from '../../../agent/exec/runner.js';
import { Reporter } from '../../../agent/report/events.js';
import { planDisks } from '../../../agent/plan/disk-plan.js';
import { parseLayoutXml } from '../../../agent/plan/layout-xml.js';
import { fakeDisk } from './fake-devices.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function runFlow(file: string, disks: [string, number][], failOn?: string) {
  const found = disks.map(([n, s]) => fakeDisk(n, s));
  const l = parseLayoutXml(readFileSync(`fixtures/layouts/${file}`, 'utf8'), file);
  const { plan, problems } = planDisks(l, found, { allowed: found.map((d) => d.path) });
  expect(problems).toEqual([]);
  const calls: string[] = [];
  const run: Runner = async (tool, args) => {
    const line = [tool, ...args].join(' ');
    calls.push(line);
    if (failOn && line.startsWith(failOn)) throw new CommandError([tool, ...args], 1, null, '', 'boom');
    return { argv: [tool, ...args], code: 0, signal: null, stdout: '', stderr: '', ms: 0 };
  };
  const sysroot = await mkdtemp(join(tmpdir(), 'si-flow-'));
  dirs.push(sysroot);
  const ctx = { run, report: new Reporter(), sysroot, probe: async () => ({ devices: found, busy: [] }), exists: async () => true };
  const result = await applyDiskPlan(plan, ctx).catch((e: unknown) => e);
  return { calls: calls.map((c) => c.replaceAll(sysroot, '$ROOT')), result };
}

describe('applyDiskPlan order of work (recording runner)', () => {
  it('RAID1: wipe, partition, re-read, wipe partitions, mdadm, mkfs, mount', async () => {
    const { calls, result } = await runFlow('raid1.xml', [['loop4', 1024], ['loop5', 1024]]);
    expect(result).not.toBeInstanceOf(Error);
    expect(calls).toEqual([
      'wipefs -a /dev/loop4',
      'parted -s -a optimal /dev/loop4 unit MiB mklabel gpt mkpart swap-a linux-swap 1MiB 65MiB mkpart raid-a 65MiB 1023MiB set 2 raid on',
      'partprobe /dev/loop4', 'wipefs -a /dev/loop4p1', 'wipefs -a /dev/loop4p2',
      'wipefs -a /dev/loop5',
      'parted -s -a optimal /dev/loop5 unit MiB mklabel gpt mkpart swap-b linux-swap 1MiB 65MiB mkpart raid-b 65MiB 1023MiB set 2 raid on',
      'partprobe /dev/loop5', 'wipefs -a /dev/loop5p1', 'wipefs -a /dev/loop5p2',
      'mdadm --create /dev/md0 --run --metadata=1.2 --level=raid1 --raid-devices=2 /dev/loop4p2 /dev/loop5p2',
      'wipefs -a /dev/md0',
      'mkfs.ext4 -F -L root /dev/md0', 'mkswap -f /dev/loop4p1', 'mkswap -f /dev/loop5p1',
      'mount -t ext4 /dev/md0 $ROOT',
    ]);
  });

  it('LVM: pvcreate, vgcreate, lvcreate before mkfs; mounts by depth', async () => {
    const { calls } = await runFlow('lvm.xml', [['loop4', 1536]]);
    expect(calls.slice(5)).toEqual([
      'lvm pvcreate -ff -y /dev/loop4p2', 'lvm vgcreate -y -s 4096k vg_si /dev/loop4p2',
      'lvm lvcreate -y -Wy -Zy -n root -L 400m vg_si', 'lvm lvcreate -y -Wy -Zy -n data -l 100%FREE vg_si',
      'mkfs.ext4 -F -L root /dev/vg_si/root', 'mkfs.ext4 -F -L boot /dev/loop4p1', 'mkfs.xfs -f -L data /dev/mapper/vg_si-data',
      'mount -t ext4 /dev/vg_si/root $ROOT', 'mount -t ext4 /dev/loop4p1 $ROOT/boot', 'mount -t xfs /dev/mapper/vg_si-data $ROOT/data',
    ]);
  });

  it('a failure says what state each disk was left in', async () => {
    const { result } = await runFlow('raid1.xml', [['loop4', 1024], ['loop5', 1024]], 'parted -s -a optimal /dev/loop5');
    expect(result).toBeInstanceOf(DiskApplyError);
    const e = result as DiskApplyError;
    expect(e.code).toBe('E_COMMAND');
    expect(e.message).toMatch(/^disk setup failed: parted failed with exit code 1: parted -s -a optimal \/dev\/loop5/);
    expect(e.details).toEqual([
      'boom', 'disk state:',
      '  /dev/loop4: new partition table written (gpt, 2 partitions)',
      '  /dev/loop5: signatures wiped, NO partition table (the disk is blank)',
      '  /dev/md0: array not created',
      '  filesystems not made: /dev/md0 (ext4), /dev/loop4p1 (swap), /dev/loop5p1 (swap)',
    ]);
  });
});
