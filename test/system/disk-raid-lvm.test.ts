// Root: RAID1 across two loops and LVM on a partition, applied for real. Needs md and device-mapper in the kernel;
// where they are missing (this CI kernel has neither) the suites are skipped, and test/unit/disk/apply-flow.test.ts
// checks the same plans' command sequence through a recording runner instead.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDiskPlan } from '../../agent/disk/apply.js';
import { probeBlockDevices } from '../../agent/disk/probe.js';
import { formatFstab } from '../../agent/disk/fstab.js';
import { deactivateStorage, unmountTarget } from '../../agent/disk/teardown.js';
import { planDisks } from '../../agent/plan/disk-plan.js';
import { parseLayoutXml } from '../../agent/plan/layout-xml.js';
import { createLoopLab, hasDm, hasMd, isRoot, mountsUnder, readBlkid, readPartedTable, type LoopLab } from './disk-helpers.js';

const layout = (f: string) => parseLayoutXml(readFileSync(`fixtures/layouts/${f}`, 'utf8'), `disks-layouts/${f}`);

describe.skipIf(!isRoot || !hasMd)('RAID1 across two loops (needs the md driver)', () => {
  let lab: LoopLab;
  let loops: string[] = [];
  beforeAll(async () => {
    lab = await createLoopLab('disk-raid');
    loops = [await lab.addLoop(1024), await lab.addLoop(1024)];
  });
  afterAll(async () => {
    await lab?.cleanup({ raids: ['/dev/md0'], zero: loops.map((l) => `${l}p2`) });
  });

  it('creates md0 from the second partition of each loop, ext4 on top, swap on each', async () => {
    const sysroot = lab.sysroot;
    const { plan, problems } = planDisks(layout('raid1.xml'), await probeBlockDevices(lab.run), { allowed: loops });
    expect(problems).toEqual([]);
    await applyDiskPlan(plan, { run: lab.run, report: lab.report, sysroot });
    for (const l of loops) {
      const t = await readPartedTable(lab.run, l);
      expect(t.parts.map((p) => p.split(':').slice(0, 3).join(':'))).toEqual(['1:1.00MiB:65.0MiB', '2:65.0MiB:1023MiB']);
      expect(t.parts[1]).toMatch(/raid/);
      expect(await readBlkid(lab.run, `${l}p1`)).toMatchObject({ TYPE: 'swap' });
      expect(await readBlkid(lab.run, `${l}p2`)).toMatchObject({ TYPE: 'linux_raid_member' });
    }
    const mdstat = readFileSync('/proc/mdstat', 'utf8');
    expect(mdstat).toMatch(/md0 : active (\(auto-read-only\) )?raid1/);
    for (const l of loops) expect(mdstat).toContain(l.replace('/dev/', '') + 'p2');
    expect(await readBlkid(lab.run, '/dev/md0')).toMatchObject({ TYPE: 'ext4', LABEL: 'root' });
    expect(mountsUnder(sysroot)).toEqual([{ device: '/dev/md0', mp: sysroot, fs: 'ext4' }]);
    expect(formatFstab(plan)).toBe(`LABEL=root\t/\text4\tdefaults\t1\t1\n${loops[0]}p1\tswap\tswap\tpri=1\t0\t0\n${loops[1]}p1\tswap\tswap\tpri=1\t0\t0\n`);
    await unmountTarget(plan, { run: lab.run, report: lab.report, sysroot });
    await deactivateStorage(plan, { run: lab.run, report: lab.report, sysroot });
    expect(mountsUnder(sysroot)).toEqual([]);
    expect(readFileSync('/proc/mdstat', 'utf8')).not.toMatch(/^md0 /m);
  });
});

describe.skipIf(!isRoot || !hasDm)('LVM on a partition (needs device-mapper)', () => {
  let lab: LoopLab;
  beforeAll(async () => {
    lab = await createLoopLab('disk-lvm');
  });
  afterAll(async () => {
    await lab?.cleanup({ vgs: ['vg_si'] });
  });

  it('makes vg_si on the second partition with root (ext4, 400 MiB) and data (xfs, the rest)', async () => {
    const loop = await lab.addLoop(1536);
    const sysroot = lab.sysroot;
    const { plan, problems } = planDisks(layout('lvm.xml'), await probeBlockDevices(lab.run), { allowed: [loop] });
    expect(problems).toEqual([]);
    await applyDiskPlan(plan, { run: lab.run, report: lab.report, sysroot });
    const lvs = await lab.run('lvm', ['lvs', '--noheadings', '--units', 'm', '--nosuffix', '-o', 'lv_name,lv_size', 'vg_si']);
    const sizes = Object.fromEntries(lvs.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)).map(([n, s]) => [n, Number(s)]));
    expect(sizes['root']).toBe(400);
    expect(sizes['data']).toBeGreaterThan(800);
    expect(await readBlkid(lab.run, '/dev/vg_si/root')).toMatchObject({ TYPE: 'ext4', LABEL: 'root' });
    expect(await readBlkid(lab.run, '/dev/mapper/vg_si-data')).toMatchObject({ TYPE: 'xfs', LABEL: 'data' });
    expect(await readBlkid(lab.run, `${loop}p2`)).toMatchObject({ TYPE: 'LVM2_member' });
    expect(mountsUnder(sysroot).map((m) => m.mp.slice(sysroot.length) || '/')).toEqual(['/', '/boot', '/data']);
    await unmountTarget(plan, { run: lab.run, report: lab.report, sysroot });
    await deactivateStorage(plan, { run: lab.run, report: lab.report, sysroot });
    expect(mountsUnder(sysroot)).toEqual([]);
    const active = await lab.run('lvm', ['lvs', '--noheadings', '-o', 'lv_active', 'vg_si']);
    expect(active.stdout).not.toMatch(/\bactive\b/);
  });
});
