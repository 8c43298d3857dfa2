// Root: partition, format and mount real loop devices from the fixture layouts; refuse a disk that is in use.

import { createHash } from 'node:crypto';
import { openSync, readSync, closeSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDiskPlan } from '../../agent/disk/apply.js';
import { probeBlockDevices } from '../../agent/disk/probe.js';
import { formatFstab, writeFstab } from '../../agent/disk/fstab.js';
import { deactivateStorage, unmountTarget } from '../../agent/disk/teardown.js';
import { planDisks } from '../../agent/plan/disk-plan.js';
import { parseLayoutXml } from '../../agent/plan/layout-xml.js';
import { SiError } from '../../agent/errors.js';
import { createLoopLab, isRoot, mountsUnder, readBlkid, readPartedTable, type LoopLab } from './disk-helpers.js';

const layout = (f: string) => parseLayoutXml(readFileSync(`fixtures/layouts/${f}`, 'utf8'), `disks-layouts/${f}`);

function hashFirstMiB(dev: string): string {
  const fd = openSync(dev, 'r');
  try {
    const buf = Buffer.alloc(1024 * 1024);
    readSync(fd, buf, 0, buf.length, 0);
    return createHash('sha256').update(buf).digest('hex');
  } finally {
    closeSync(fd);
  }
}

describe.skipIf(!isRoot)('disk apply on loop devices', () => {
  let lab: LoopLab;
  beforeAll(async () => {
    lab = await createLoopLab('disk-part');
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('gpt: ext4 /boot, swap, xfs / on one 1.5 GB loop', async () => {
    const loop = await lab.addLoop(1536);
    const sysroot = `${lab.sysroot}-gpt`;
    const { plan, problems } = planDisks(layout('gpt-ext4-xfs-swap.xml'), await probeBlockDevices(lab.run), { allowed: [loop] });
    expect(problems).toEqual([]);
    const state = await applyDiskPlan(plan, { run: lab.run, report: lab.report, sysroot });
    expect(state.disks).toEqual([{ device: loop, labelType: 'gpt', partitions: 4, stage: 'mounted' }]);
    const t = await readPartedTable(lab.run, loop);
    expect(t.label).toBe('gpt');
    expect(t.parts).toEqual(['1:1.00MiB:2.00MiB:1.00MiB::grub:bios_grub', '2:2.00MiB:302MiB:300MiB:ext4:boot:', '3:302MiB:430MiB:128MiB:linux-swap(v1):swap:swap', '4:430MiB:1535MiB:1105MiB:xfs:root:']);
    expect(await readBlkid(lab.run, `${loop}p2`)).toMatchObject({ TYPE: 'ext4', LABEL: 'boot' });
    expect(await readBlkid(lab.run, `${loop}p3`)).toMatchObject({ TYPE: 'swap', UUID: '0a7c3e55-2f9d-4c1b-8e6f-7d5a4b3c2e10' });
    expect(await readBlkid(lab.run, `${loop}p4`)).toMatchObject({ TYPE: 'xfs', UUID: '5f1ed2a4-0f6b-4b7e-9a51-3c2d8e6a7b10' });
    expect(mountsUnder(sysroot)).toEqual([
      { device: `${loop}p4`, mp: sysroot, fs: 'xfs' },
      { device: `${loop}p2`, mp: `${sysroot}/boot`, fs: 'ext4' },
    ]);
    const path = await writeFstab(plan, sysroot);
    expect(readFileSync(path, 'utf8')).toBe(formatFstab(plan));
    expect(readFileSync(path, 'utf8')).toContain('LABEL=boot\t/boot\text4\tdefaults,noatime\t0\t2\n');
    await unmountTarget(plan, { run: lab.run, report: lab.report, sysroot });
    await deactivateStorage(plan, { run: lab.run, report: lab.report, sysroot });
    expect(mountsUnder(sysroot)).toEqual([]);
  });

  it('msdos: primary, extended and three logicals', async () => {
    const loop = await lab.addLoop(1024);
    const sysroot = `${lab.sysroot}-msdos`;
    const { plan, problems } = planDisks(layout('msdos-extended.xml'), await probeBlockDevices(lab.run), { allowed: [loop] });
    expect(problems).toEqual([]);
    await applyDiskPlan(plan, { run: lab.run, report: lab.report, sysroot });
    const t = await readPartedTable(lab.run, loop);
    expect(t.label).toBe('msdos');
    expect(t.parts.map((p) => p.split(':').slice(0, 3).join(':'))).toEqual(['1:1.00MiB:201MiB', '2:201MiB:1024MiB', '5:202MiB:602MiB', '6:603MiB:731MiB', '7:732MiB:1024MiB']);
    expect(t.parts[0]).toMatch(/boot/);
    expect(await readBlkid(lab.run, `${loop}p1`)).toMatchObject({ TYPE: 'ext3', LABEL: '/boot' });
    expect(await readBlkid(lab.run, `${loop}p5`)).toMatchObject({ TYPE: 'ext4', LABEL: '/' });
    expect(await readBlkid(lab.run, `${loop}p6`)).toMatchObject({ TYPE: 'swap' });
    expect(await readBlkid(lab.run, `${loop}p7`)).toMatchObject({ TYPE: 'ext2' });
    expect(mountsUnder(sysroot).map((m) => `${m.device} ${m.mp.slice(sysroot.length) || '/'} ${m.fs}`)).toEqual([
      `${loop}p5 / ext4`, `${loop}p1 /boot ext3`, `${loop}p7 /var ext2`,
    ]);
    expect(formatFstab(plan)).toContain(`${loop}p7\t/var\text2\tdefaults\t1\t2\n`);
    await unmountTarget(plan, { run: lab.run, report: lab.report, sysroot });
    expect(mountsUnder(sysroot)).toEqual([]);
  });

  it('gpt UEFI: vfat esp with a volume id, btrfs root with a label', async () => {
    const loop = await lab.addLoop(1024);
    const sysroot = `${lab.sysroot}-efi`;
    // This CI kernel has no vfat driver: then the ESP is still made, but marked noauto so it is not mounted.
    const vfat = readFileSync('/proc/filesystems', 'utf8').includes('vfat');
    let xml = readFileSync('fixtures/layouts/gpt-efi-btrfs.xml', 'utf8');
    if (!vfat) xml = xml.replace('options="umask=0077"', 'options="noauto,umask=0077"');
    const { plan, problems } = planDisks(parseLayoutXml(xml, 'gpt-efi-btrfs.xml'), await probeBlockDevices(lab.run), { allowed: [loop] });
    expect(problems).toEqual([]);
    await applyDiskPlan(plan, { run: lab.run, report: lab.report, sysroot });
    const t = await readPartedTable(lab.run, loop);
    expect(t.parts[0]).toMatch(/^1:1\.00MiB:65\.0MiB:64\.0MiB:fat(16|32):EFI:.*esp/);
    expect(await readBlkid(lab.run, `${loop}p1`)).toMatchObject({ TYPE: 'vfat', UUID: '1234-ABCD' });
    expect(await readBlkid(lab.run, `${loop}p2`)).toMatchObject({ TYPE: 'btrfs', LABEL: 'rootfs' });
    expect(mountsUnder(sysroot).map((m) => `${m.device} ${m.mp.slice(sysroot.length) || '/'} ${m.fs}`)).toEqual([`${loop}p2 / btrfs`, ...(vfat ? [`${loop}p1 /boot/efi vfat`] : [])]);
    await unmountTarget(plan, { run: lab.run, report: lab.report, sysroot });
    expect(mountsUnder(sysroot)).toEqual([]);
  });

  it('refuses a loop with a mounted filesystem before any write', async () => {
    const loop = await lab.addLoop(512);
    await lab.run('parted', ['-s', loop, 'mklabel', 'msdos', 'unit', 'MiB', 'mkpart', 'primary', '1', '200']);
    await lab.run('partprobe', [loop], { allowFail: true });
    await lab.run('mkfs.ext4', ['-q', '-F', `${loop}p1`]);
    const mnt = `${lab.dir}/busy`;
    await lab.run('mkdir', ['-p', mnt]);
    await lab.run('mount', [`${loop}p1`, mnt]);
    const before = hashFirstMiB(loop);
    const found = await probeBlockDevices(lab.run);
    const l = parseLayoutXml('<config><disk dev="/dev/sda" label_type="gpt"><part num="1" size="*"/></disk><fsinfo line="1" real_dev="/dev/sda1" mp="/" fs="ext4"/></config>', 'busy.xml');
    const planned = planDisks(l, found, { allowed: [loop] });
    expect(planned.problems.map((p) => p.message)).toEqual([`refusing ${loop}: it is in use (${loop}p1 mounted on ${mnt})`]);
    // Even a plan made while the disk looked free is refused by apply's own last check.
    const stale = planDisks(l, found.map((d) => ({ ...d, children: d.children.map((c) => ({ ...c, mountpoints: [] })) })), { allowed: [loop] });
    expect(stale.problems).toEqual([]);
    const mark = lab.events.length;
    const err = await applyDiskPlan(stale.plan, { run: lab.run, report: lab.report, sysroot: `${lab.sysroot}-busy` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiError);
    expect((err as SiError).code).toBe('E_DISK');
    expect((err as SiError).message).toContain(`refusing to write the disks (nothing was written): ${loop} is in use: ${loop}p1 mounted on ${mnt}`);
    expect(hashFirstMiB(loop)).toBe(before);
    expect(lab.events.slice(mark).some((e) => e.type === 'command' && e.argv.some((a) => a === loop) && /wipefs|parted$/.test(e.argv[0]!))).toBe(false);
    await lab.run('umount', [mnt]);
  });

  it('refuses a disk outside the allowed list even when the plan names it', async () => {
    const loop = await lab.addLoop(256);
    const l = parseLayoutXml('<config><disk dev="/dev/sda" label_type="gpt"><part num="1" size="*"/></disk><fsinfo line="1" real_dev="/dev/sda1" mp="/" fs="ext4"/></config>', 'x.xml');
    const { plan } = planDisks(l, await probeBlockDevices(lab.run), { allowed: [loop] });
    const before = hashFirstMiB(loop);
    const err = await applyDiskPlan({ ...plan, allowed: ['/dev/loop999'] }, { run: lab.run, report: lab.report, sysroot: `${lab.sysroot}-x` }).catch((e: unknown) => e);
    expect((err as SiError).message).toContain(`${loop} is not in the list of disks this run may write`);
    expect(hashFirstMiB(loop)).toBe(before);
  });
});
