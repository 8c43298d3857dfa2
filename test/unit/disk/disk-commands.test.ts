import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildLvmCommands, buildMdadmCreate, buildMkfsCommand, buildMountCommand, buildPartedCommand } from '../../../agent/disk/disk-commands.js';
import { createDiskState, describeDiskState } from '../../../agent/disk/disk-state.js';
import { planDisks } from '../../../agent/plan/disk-plan.js';
import { parseLayoutXml } from '../../../agent/plan/layout-xml.js';
import { fakeDisk } from './fake-devices.js';

const plan = (file: string, disks: [string, number][]) => {
  const l = parseLayoutXml(readFileSync(`fixtures/layouts/${file}`, 'utf8'), file);
  const r = planDisks(l, disks.map(([n, s]) => fakeDisk(n, s)), { allowed: disks.map(([n]) => `/dev/${n}`) });
  expect(r.problems).toEqual([]);
  return r.plan;
};
const line = (c: { tool: string; args: string[] }) => [c.tool, ...c.args].join(' ');

describe('command builders', () => {
  it('parted: gpt names, swap type, flags', () => {
    const p = plan('gpt-ext4-xfs-swap.xml', [['loop7', 1536]]);
    expect(line(buildPartedCommand(p.disks[0]!))).toBe('parted -s -a optimal /dev/loop7 unit MiB mklabel gpt '
      + 'mkpart grub 1MiB 2MiB mkpart boot 2MiB 302MiB mkpart swap linux-swap 302MiB 430MiB mkpart root 430MiB 1535MiB set 1 bios_grub on');
  });
  it('parted: msdos primary, extended, logicals', () => {
    const p = plan('msdos-extended.xml', [['loop2', 1024]]);
    expect(line(buildPartedCommand(p.disks[0]!))).toBe('parted -s -a optimal /dev/loop2 unit MiB mklabel msdos '
      + 'mkpart primary 1MiB 201MiB mkpart extended 201MiB 100% mkpart logical 202MiB 602MiB mkpart logical linux-swap 603MiB 731MiB mkpart logical 732MiB 100% '
      + 'set 1 boot on set 6 swap on');
  });
  it('mdadm and lvm', () => {
    const r = plan('raid1.xml', [['loop4', 1024], ['loop5', 1024]]);
    expect(line(buildMdadmCreate(r.raids[0]!))).toBe('mdadm --create /dev/md0 --run --metadata=1.2 --level=raid1 --raid-devices=2 /dev/loop4p2 /dev/loop5p2');
    const v = plan('lvm.xml', [['loop4', 1536]]);
    expect(buildLvmCommands(v.vgs[0]!).map(line)).toEqual([
      'lvm pvcreate -ff -y /dev/loop4p2',
      'lvm vgcreate -y -s 4096k vg_si /dev/loop4p2',
      'lvm lvcreate -y -Wy -Zy -n root -L 400m vg_si',
      'lvm lvcreate -y -Wy -Zy -n data -l 100%FREE vg_si',
    ]);
  });
  it('mkfs with labels and UUIDs per filesystem type', () => {
    const g = plan('gpt-ext4-xfs-swap.xml', [['loop7', 1536]]);
    expect(g.filesystems.map((f) => line(buildMkfsCommand(f)))).toEqual([
      'mkfs.xfs -f -m uuid=5f1ed2a4-0f6b-4b7e-9a51-3c2d8e6a7b10 /dev/loop7p4',
      'mkfs.ext4 -F -L boot -m 1 /dev/loop7p2',
      'mkswap -f -U 0a7c3e55-2f9d-4c1b-8e6f-7d5a4b3c2e10 /dev/loop7p3',
    ]);
    const base = { at: '', line: 1, device: '/dev/x1', mkfsOpts: [], mp: '/', format: true };
    expect(line(buildMkfsCommand({ ...base, fs: 'vfat', label: 'EFI', uuid: '1234-ABCD' }))).toBe('mkfs.vfat -n EFI -i 1234ABCD /dev/x1');
    expect(line(buildMkfsCommand({ ...base, fs: 'btrfs', label: 'b', uuid: '5f1ed2a4-0f6b-4b7e-9a51-3c2d8e6a7b10' }))).toBe('mkfs.btrfs -f -L b -U 5f1ed2a4-0f6b-4b7e-9a51-3c2d8e6a7b10 /dev/x1');
    expect(line(buildMkfsCommand({ ...base, fs: 'ext3', label: null, uuid: null }))).toBe('mkfs.ext3 -F /dev/x1');
    expect(line(buildMountCommand({ device: '/dev/x1', mp: '/', fs: 'btrfs', options: ['subvol=@'] }, '/sysroot'))).toBe('mount -t btrfs -o subvol=@ /dev/x1 /sysroot');
  });
  it('describes the state each disk was left in', () => {
    const p = plan('raid1.xml', [['loop4', 1024], ['loop5', 1024]]);
    const s = createDiskState(p);
    expect(describeDiskState(s)).toEqual(['/dev/loop4: untouched (nothing written)', '/dev/loop5: untouched (nothing written)', '/dev/md0: array not created']);
    s.disks[0]!.stage = 'partitioned';
    s.disks[1]!.stage = 'wiped';
    s.filesystems[1]!.made = true;
    expect(describeDiskState(s)).toEqual([
      '/dev/loop4: new partition table written (gpt, 2 partitions)',
      '/dev/loop5: signatures wiped, NO partition table (the disk is blank)',
      '/dev/md0: array not created',
      'filesystems made: /dev/loop4p1 (swap)',
      'filesystems not made: /dev/md0 (ext4), /dev/loop5p1 (swap)',
    ]);
  });
});
