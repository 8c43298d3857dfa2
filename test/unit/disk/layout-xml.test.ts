import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LayoutError } from '../../../agent/errors.js';
import { parseLayoutXml } from '../../../agent/plan/layout-xml.js';

const dir = resolve('fixtures/layouts');
const read = (name: string) => readFileSync(join(dir, name), 'utf8');

const good = [
  {
    file: 'gpt-ext4-xfs-swap.xml',
    disks: [{ dev: '/dev/sda', labelType: 'gpt', parts: ['1:1 MiB:primary:bios_grub', '2:300 MiB:primary:', '3:128 MiB:primary:', '4:*:primary:'] }],
    raids: 0, vgs: [] as string[], fsLines: [10, 20, 30, 40, 50], devstyle: 'udev' as string | null,
  },
  {
    file: 'msdos-extended.xml',
    disks: [{ dev: '/dev/sda', labelType: 'msdos', parts: ['1:200 MiB:primary:boot', '2:*:extended:', '5:400 MiB:logical:', '6:128 MiB:logical:swap', '7:*:logical:'] }],
    raids: 0, vgs: [], fsLines: [10, 20, 30, 40, 50, 60, 70], devstyle: 'static',
  },
  {
    file: 'raid1.xml',
    disks: [
      { dev: '/dev/sda', labelType: 'gpt', parts: ['1:64 MiB:primary:', '2:*:primary:raid'] },
      { dev: '/dev/sdb', labelType: 'gpt', parts: ['1:64 MiB:primary:', '2:*:primary:raid'] },
    ],
    raids: 1, vgs: [], fsLines: [10, 20, 30], devstyle: 'udev',
  },
  {
    file: 'lvm.xml',
    disks: [{ dev: '/dev/sda', labelType: 'msdos', parts: ['1:256 MiB:primary:boot', '2:*:primary:lvm'] }],
    raids: 0, vgs: ['vg_si:root=400 MiB,data=*'], fsLines: [10, 20, 30], devstyle: 'udev',
  },
  {
    file: 'gpt-efi-btrfs.xml',
    disks: [{ dev: '/dev/vda', labelType: 'gpt', parts: ['1:64 MiB:primary:esp', '2:*:primary:'] }],
    raids: 0, vgs: [], fsLines: [10, 20, 30], devstyle: null,
  },
  {
    file: 'msdos-ids.xml',
    disks: [{ dev: '/dev/hda', labelType: 'msdos', parts: ['1:10%:primary:', '2:40%:primary:', '3:*:primary:'] }],
    raids: 0, vgs: ['vg0:root=50%,home=*'], fsLines: [10, 20, 30, 40], devstyle: null,
  },
];

describe('parseLayoutXml on fixtures', () => {
  it.each(good)('$file', (c) => {
    const l = parseLayoutXml(read(c.file), `disks-layouts/${c.file}`);
    expect(l.disks.map((d) => ({ dev: d.dev, labelType: d.labelType, parts: d.parts.map((p) => `${p.num}:${p.size.kind === 'grow' ? '*' : p.size.kind === 'mib' ? `${p.size.mib} MiB` : `${p.size.percent}%`}:${p.pType}:${p.flags.join(',')}`) }))).toEqual(c.disks);
    expect(l.raids.length).toBe(c.raids);
    expect(l.vgs.map((v) => `${v.name}:${v.lvs.map((lv) => `${lv.name}=${lv.size.kind === 'grow' ? '*' : lv.size.kind === 'mib' ? `${lv.size.mib} MiB` : lv.size.percent + '%'}`).join(',')}`)).toEqual(c.vgs);
    expect(l.fsinfo.map((f) => f.line)).toEqual(c.fsLines);
    expect(l.devstyle).toBe(c.devstyle);
  });

  it('reads raid attributes, lvm extents, fsinfo labels, format="no" and comments', () => {
    const raid = parseLayoutXml(read('raid1.xml'), 'raid1.xml');
    expect(raid.raids[0]).toMatchObject({ name: '/dev/md0', level: 'raid1', raidDevices: 2, spareDevices: 0, devices: ['/dev/sda2', '/dev/sdb2'], lvmGroup: null, chunkSize: null });
    const lvm = parseLayoutXml(read('lvm.xml'), 'lvm.xml');
    expect(lvm.vgs[0]).toMatchObject({ name: 'vg_si', peSizeMiB: 4, maxLogVols: 0 });
    expect(lvm.disks[0]!.parts[1]!.lvmGroup).toBe('vg_si');
    const ms = parseLayoutXml(read('msdos-extended.xml'), 'm.xml');
    expect(ms.fsinfo.find((f) => f.line === 70)).toMatchObject({ realDev: '/dev/cdrom', fs: 'udf,iso9660', format: false });
    const gpt = parseLayoutXml(read('gpt-ext4-xfs-swap.xml'), 'g.xml');
    expect(gpt.fsinfo[0]).toMatchObject({ line: 10, realDev: null, comment: '# /etc/fstab: static file system information.' });
    expect(gpt.fsinfo[2]).toMatchObject({ mountDev: 'LABEL=boot', mkfsOpts: ['-m', '1'], options: 'defaults,noatime' });
    expect(gpt.disks[0]!.parts[0]!.pName).toBe('grub');
  });

  it('parses stable selectors and units', () => {
    const l = parseLayoutXml(read('selectors.xml'), 's.xml');
    expect(l.disks.map((d) => [d.dev, d.serial, d.sizeMinMiB, d.parts[0]!.size])).toEqual([
      ['/dev/sda', null, 102400, { kind: 'mib', mib: 1024 }],
      ['/dev/sdb', 'DATA-0042', null, { kind: 'percent', percent: 100 }],
      ['/dev/disk/by-id/nvme-FAST_SSD_123', null, null, { kind: 'grow' }],
    ]);
  });

  it('reports every problem of a malformed layout at once, naming element and attribute', () => {
    let err: unknown;
    try {
      parseLayoutXml(read('malformed.xml'), 'disks-layouts/malformed.xml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LayoutError);
    const problems = (err as LayoutError).problems;
    const keys = problems.map((p) => p.key);
    expect(keys).toEqual(expect.arrayContaining([
      '<disk dev=/dev/sda> label_type',
      '<disk dev=/dev/sdb> <part num=1> flags',
      '<disk dev=/dev/sdb> <part num=2> size',
      '<disk dev=/dev/sdb> <part num=3> size',
      '<disk dev=/dev/sdb> <part num=4> p_type',
      '<raid name=/dev/md0> raid_level',
      '<lvm_group name=vg0> phys_extent_size',
      '<lvm_group name=vg0> <lv name=root> size',
      '<fsinfo line=10> format',
      '<fsinfo line=ten> line',
      '<fsinfo line=30> mp',
    ]));
    expect(problems.every((p) => p.source === 'layout disks-layouts/malformed.xml')).toBe(true);
    expect((err as LayoutError).message).toContain('layout disks-layouts/malformed.xml <disk dev=/dev/sdb> <part num=3> size: "abc" is not a size');
    expect(keys.some((k) => k.includes('some_future_attribute'))).toBe(false);
  });

  const bad: [string, string, string][] = [
    ['not XML', '<config><disk dev="/dev/sda"></config>', 'line 1'],
    ['single disk part key has no disk prefix', '<config><disk dev="/dev/sda" label_type="gpt"><part num="3" size="abc"/></disk></config>', '<part num=3> size'],
    ['logical without extended', '<config><disk dev="/dev/sda" label_type="msdos"><part num="1" size="1"/><part num="5" size="1" p_type="logical"/></disk></config>', '<part num=5> p_type'],
    ['gap in gpt numbering', '<config><disk dev="/dev/sda" label_type="gpt"><part num="1" size="1"/><part num="3" size="1"/></disk></config>', '<part num=3> num'],
    ['percent above 100', '<config><disk dev="/dev/sda" label_type="gpt" unit_of_measurement="%"><part num="1" size="150"/></disk></config>', '<part num=1> size'],
    ['unknown unit', '<config><disk dev="/dev/sda" label_type="gpt" unit_of_measurement="furlongs"/></config>', '<disk dev=/dev/sda> unit_of_measurement'],
    ['duplicate fsinfo line', '<config><fsinfo line="1" comment="#a"/><fsinfo line="1" comment="#b"/></config>', '<fsinfo line=1> line'],
    ['raid with too few devices listed', '<config><raid name="/dev/md1" raid_level="1" raid_devices="2" spare_devices="1" devices="/dev/sda1 /dev/sdb1"/></config>', '<raid name=/dev/md1> devices'],
  ];
  it.each(bad)('%s', (_n, xml, key) => {
    expect(() => parseLayoutXml(xml, 'x.xml')).toThrow(LayoutError);
    try {
      parseLayoutXml(xml, 'x.xml');
    } catch (e) {
      expect((e as LayoutError).problems.map((p) => p.key)).toContain(key);
    }
  });
});
