import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatFstab } from '../../../agent/disk/fstab.js';
import { planDisks, type PlanDiskOptions } from '../../../agent/plan/disk-plan.js';
import { parseLayoutXml } from '../../../agent/plan/layout-xml.js';
import type { BlockDevice } from '../../../agent/disk/block-device.js';
import { fakeDisk, fakePart } from './fake-devices.js';

const layout = (file: string) => parseLayoutXml(readFileSync(join(resolve('fixtures/layouts'), file), 'utf8'), `disks-layouts/${file}`);
const ranges = (plan: ReturnType<typeof planDisks>['plan']) =>
  plan.disks.map((d) => `${d.device} ${d.labelType} ` + d.parts.map((p) => `${p.device.replace(/^\/dev\//, '')}=${p.startMiB}-${p.endMiB}`).join(' '));

interface Case {
  name: string;
  file: string;
  found: BlockDevice[];
  opts: PlanDiskOptions;
  ranges?: string[];
  fstab?: string;
  mounts?: string[];
  problems?: string[];
}

const cases: Case[] = [
  {
    name: 'gpt on the allowed loop: 1 MiB head, 1 MiB tail for the backup header, * grows',
    file: 'gpt-ext4-xfs-swap.xml',
    found: [fakeDisk('sda', 10240), fakeDisk('loop7', 1536)],
    opts: { allowed: ['/dev/loop7'] },
    ranges: ['/dev/loop7 gpt loop7p1=1-2 loop7p2=2-302 loop7p3=302-430 loop7p4=430-1535'],
    fstab: '# /etc/fstab: static file system information.\n'
      + 'UUID=5f1ed2a4-0f6b-4b7e-9a51-3c2d8e6a7b10\t/\txfs\tdefaults\t0\t1\n'
      + 'LABEL=boot\t/boot\text4\tdefaults,noatime\t0\t2\n'
      + 'UUID=0a7c3e55-2f9d-4c1b-8e6f-7d5a4b3c2e10\tswap\tswap\tdefaults\t0\t0\n'
      + 'proc\t/proc\tproc\tdefaults\t0\t0\n',
    mounts: ['/dev/loop7p4 /', '/dev/loop7p2 /boot'],
  },
  {
    name: 'msdos: extended spans the logicals, 1 MiB EBR gap before each logical',
    file: 'msdos-extended.xml',
    found: [fakeDisk('loop2', 1024)],
    opts: { allowed: ['/dev/loop2'] },
    ranges: ['/dev/loop2 msdos loop2p1=1-201 loop2p2=201-1024 loop2p5=202-602 loop2p6=603-731 loop2p7=732-1024'],
    fstab: 'LABEL=/\t/\text4\tdefaults\t1\t1\n'
      + 'LABEL=/boot\t/boot\text3\tdefaults\t1\t2\n'
      + 'none\t/dev/pts\tdevpts\tgid=5,mode=620\t0\t0\n'
      + 'none\t/proc\tproc\tdefaults\t0\t0\n'
      + '/dev/loop2p6\tswap\tswap\tdefaults\t0\t0\n'
      + '/dev/loop2p7\t/var\text2\tdefaults\t1\t2\n'
      + '/dev/cdrom\t/mnt/cdrom\tudf,iso9660\tnoauto,owner,kudzu,ro\t0\t0\n',
    mounts: ['/dev/loop2p5 /', '/dev/loop2p1 /boot', '/dev/loop2p7 /var'],
  },
  {
    name: 'DISKORDER maps layout disks onto found disks: nvme before sd, rom/removable/loop skipped',
    file: 'raid1.xml',
    found: [fakeDisk('sr0', 700, { type: 'rom' }), fakeDisk('sdc', 8000, { removable: true }), fakeDisk('sda', 2048), fakeDisk('nvme0n1', 2048), fakeDisk('loop0', 4096)],
    opts: { allowed: null, diskorder: ['nvme', 'sd'] },
    ranges: ['/dev/nvme0n1 gpt nvme0n1p1=1-65 nvme0n1p2=65-2047', '/dev/sda gpt sda1=1-65 sda2=65-2047'],
    fstab: 'LABEL=root\t/\text4\tdefaults\t1\t1\n/dev/nvme0n1p1\tswap\tswap\tpri=1\t0\t0\n/dev/sda1\tswap\tswap\tpri=1\t0\t0\n',
    mounts: ['/dev/md0 /'],
  },
  {
    name: 'autodetect with names as in the layout; natural order sdb < sdaa',
    file: 'raid1.xml',
    found: [fakeDisk('sdaa', 2048), fakeDisk('sdb', 2048), fakeDisk('sda', 2048)],
    opts: { allowed: null },
    ranges: ['/dev/sda gpt sda1=1-65 sda2=65-2047', '/dev/sdb gpt sdb1=1-65 sdb2=65-2047'],
  },
  {
    name: 'LVM on a partition: fixed LV rounded to extents, * takes the rest',
    file: 'lvm.xml',
    found: [fakeDisk('vda', 1536)],
    opts: { allowed: ['/dev/vda'] },
    ranges: ['/dev/vda msdos vda1=1-257 vda2=257-1536'],
    fstab: 'LABEL=root\t/\text4\tdefaults\t1\t1\nLABEL=boot\t/boot\text4\tdefaults\t1\t2\nLABEL=data\t/data\txfs\tdefaults\t0\t2\n',
    mounts: ['/dev/vg_si/root /', '/dev/vda1 /boot', '/dev/mapper/vg_si-data /data'],
  },
  {
    name: 'selectors: size_min, serial and a by-id link pick their disks whatever the order',
    file: 'selectors.xml',
    found: [
      fakeDisk('sda', 20480, { serial: 'DATA-0042' }),
      fakeDisk('sdb', 204800),
      fakeDisk('nvme0n1', 4096, { links: ['/dev/disk/by-id/nvme-FAST_SSD_123'] }),
    ],
    opts: { allowed: null, diskorder: ['sd', 'nvme'] },
    ranges: ['/dev/sdb gpt sdb1=1-1025 sdb2=1025-204799', '/dev/sda gpt sda1=1-20479', '/dev/nvme0n1 gpt nvme0n1p1=1-4095'],
    mounts: ['/dev/sdb2 /', '/dev/sda1 /data', '/dev/nvme0n1p1 /scratch', '/dev/sdb1 /boot/efi'],
    fstab: '/dev/sdb2\t/\text4\tdefaults\t0\t0\nUUID=1234-ABCD\t/boot/efi\tvfat\tumask=0077\t0\t0\n/dev/sda1\t/data\txfs\tdefaults\t0\t0\n/dev/disk/by-id/nvme-FAST_SSD_123-part1\t/scratch\text4\tdefaults\t0\t0\n',
  },
  {
    name: 'UEFI: esp vfat with a volume id, btrfs root; tmpfs only in fstab',
    file: 'gpt-efi-btrfs.xml',
    found: [fakeDisk('vda', 1024)],
    opts: { allowed: null },
    ranges: ['/dev/vda gpt vda1=1-65 vda2=65-1023'],
    fstab: 'LABEL=rootfs\t/\tbtrfs\tdefaults,compress=zstd\t0\t0\nUUID=1234-ABCD\t/boot/efi\tvfat\tumask=0077\t0\t1\ntmpfs\t/tmp\ttmpfs\tsize=1G\t0\t0\n',
    mounts: ['/dev/vda2 /', '/dev/vda1 /boot/efi'],
  },
  {
    name: 'msdos type ids become flags / partition types; percent of the disk; LV percent of the VG',
    file: 'msdos-ids.xml',
    found: [fakeDisk('hda', 10241)],
    opts: { allowed: null },
    ranges: ['/dev/hda msdos hda1=1-1025 hda2=1025-5121 hda3=5121-10241'],
    mounts: ['/dev/vg0/root /', '/dev/vg0/home /home', '/dev/hda2 /srv'],
  },
  {
    name: 'too small a disk is refused with its size and the need',
    file: 'gpt-ext4-xfs-swap.xml',
    found: [fakeDisk('loop1', 300)],
    opts: { allowed: ['/dev/loop1'] },
    problems: ['layout disks-layouts/gpt-ext4-xfs-swap.xml <disk dev=/dev/sda> dev: /dev/loop1 has 300 MiB, the layout needs at least 432 MiB'],
  },
  {
    name: 'a disk with a mounted partition is refused, as is one holding swap',
    file: 'raid1.xml',
    found: [
      fakeDisk('loop1', 2048, { children: [fakePart('loop1p1', 100, { mountpoints: ['/mnt/x'] })] }),
      fakeDisk('loop2', 2048),
    ],
    opts: { allowed: ['/dev/loop1', '/dev/loop2'], busy: [{ device: '/dev/loop2', reason: 'in use as swap' }] },
    problems: [
      'layout disks-layouts/raid1.xml <disk dev=/dev/sda> dev: refusing /dev/loop1: it is in use (/dev/loop1p1 mounted on /mnt/x)',
      'layout disks-layouts/raid1.xml <disk dev=/dev/sdb> dev: refusing /dev/loop2: it is in use (/dev/loop2 in use as swap)',
    ],
  },
  {
    name: 'two * on one disk',
    file: 'two-grow.xml',
    found: [fakeDisk('loop0', 1024)],
    opts: { allowed: ['/dev/loop0'] },
    problems: ['layout disks-layouts/two-grow.xml <part num=2> size: only one partition per disk may be "*"; <part num=1> already grows'],
  },
  {
    name: 'fewer allowed disks than layout disks, and an allowed disk that does not exist',
    file: 'raid1.xml',
    found: [fakeDisk('loop0', 1024)],
    opts: { allowed: ['/dev/loop0', '/dev/loop9'] },
    problems: [
      'layout disks-layouts/raid1.xml --disk: /dev/loop9 does not exist',
      'layout disks-layouts/raid1.xml <disk dev=/dev/sdb> dev: no disk left to map it onto: the --disk list (/dev/loop0 /dev/loop9) gives 1 disk(s) for 2 layout disk(s)',
    ],
  },
];

describe('planDisks', () => {
  it.each(cases)('$name', (c) => {
    const { plan, problems } = planDisks(layout(c.file), c.found, c.opts);
    const texts = problems.map((p) => `${p.source} ${p.key}: ${p.message}`);
    if (c.problems) {
      expect(texts).toEqual(c.problems);
      return;
    }
    expect(texts).toEqual([]);
    if (c.ranges) expect(ranges(plan)).toEqual(c.ranges);
    if (c.fstab) expect(formatFstab(plan)).toBe(c.fstab);
    if (c.mounts) expect(plan.mounts.map((m) => `${m.device} ${m.mp}`)).toEqual(c.mounts);
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it('plans RAID members and LVM volumes with mapped names', () => {
    const { plan } = planDisks(layout('raid1.xml'), [fakeDisk('loop4', 1024), fakeDisk('loop5', 1024)], { allowed: ['/dev/loop4', '/dev/loop5'] });
    expect(plan.raids).toMatchObject([{ device: '/dev/md0', level: 'raid1', raidDevices: 2, members: ['/dev/loop4p2', '/dev/loop5p2'], metadata: '1.2' }]);
    expect(plan.filesystems.map((f) => `${f.device} ${f.fs} ${f.label ?? ''}`)).toEqual(['/dev/md0 ext4 root', '/dev/loop4p1 swap ', '/dev/loop5p1 swap ']);
    const lvm = planDisks(layout('lvm.xml'), [fakeDisk('loop4', 1536)], { allowed: ['/dev/loop4'] }).plan;
    expect(lvm.vgs).toMatchObject([{ name: 'vg_si', pvs: ['/dev/loop4p2'], peSizeMiB: 4, sizeMiB: 1276, lvs: [{ name: 'root', sizeMiB: 400, grow: false }, { name: 'data', grow: true }] }]);
    expect(lvm.disks[0]!.parts[1]!.flags).toEqual(['lvm']);
    const ids = planDisks(layout('msdos-ids.xml'), [fakeDisk('sda', 10241)], { allowed: ['/dev/sda'] }).plan;
    expect(ids.disks[0]!.parts.map((p) => [p.flags.join(','), p.partedFsType])).toEqual([['', 'linux-swap'], ['raid', null], ['lvm', null]]);
    expect(ids.vgs[0]!.lvs.map((l) => [l.name, l.percent, l.grow])).toEqual([['root', 50, false], ['home', 100, true]]);
    expect(ids.filesystems.find((f) => f.device === '/dev/sda2')).toMatchObject({ format: false, fs: 'ext3' });
  });

  it('reports broken references: raid member, lvm_group, fsinfo device, unknown fs, all at once', () => {
    const xml = `<config>
      <disk dev="/dev/sda" label_type="gpt"><part num="1" size="100"/><part num="2" size="100" lvm_group="nope"/><part num="3" size="*"/></disk>
      <raid name="/dev/md3" raid_level="raid1" devices="/dev/sda1 /dev/sdz1"/>
      <fsinfo line="1" real_dev="/dev/sda3" mp="/" fs="reiserfs"/>
      <fsinfo line="2" real_dev="/dev/sdq1" mp="/home" fs="ext4"/>
      <fsinfo line="3" real_dev="/dev/sda1" mp="/srv" fs="ext4"/>
    </config>`;
    const { problems } = planDisks(parseLayoutXml(xml, 'r.xml'), [fakeDisk('loop0', 1024)], { allowed: ['/dev/loop0'] });
    expect(problems.map((p) => `${p.key}: ${p.message}`)).toEqual([
      '<raid name=/dev/md3> devices: /dev/sdz1 is not a partition in this layout',
      '<part num=2> lvm_group: volume group "nope" is not defined in <lvm>',
      '<fsinfo line=1> fs: "reiserfs" is not a filesystem si-agent can make (ext2, ext3, ext4, xfs, btrfs, vfat, swap)',
      '<fsinfo line=2> real_dev: /dev/sdq1 is not created by this layout (format="no" keeps an existing filesystem)',
      '<fsinfo line=3> real_dev: /dev/sda1 is already used by <raid name=/dev/md3>',
      '<fsinfo> mp: no filesystem is mounted on /',
    ]);
  });
});
