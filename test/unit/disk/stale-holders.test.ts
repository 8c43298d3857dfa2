import { describe, expect, it } from 'vitest';
import { buildReleaseCommands, findStaleHolders, splitLvmDmName } from '../../../agent/disk/stale-holders.js';
import type { BlockDevice } from '../../../agent/disk/block-device.js';
import { fakeDisk, fakePart } from './fake-devices.js';

const line = (c: { tool: string; args: string[] }) => [c.tool, ...c.args].join(' ');
const md = (name: string, kids: BlockDevice[] = [], extra: Partial<BlockDevice> = {}) => fakeDisk(name, 600, { type: 'raid1', children: kids, ...extra });
const lv = (name: string, extra: Partial<BlockDevice> = {}) => fakeDisk(name, 500, { type: 'lvm', path: `/dev/mapper/${name}`, ...extra });
const held = (device: string, by: string) => ({ device, reason: `held by ${by}` });

/** Two disks whose second partitions carry md127, with an LVM volume on the array. */
function mirrored(mdExtra: Partial<BlockDevice> = {}, lvExtra: Partial<BlockDevice> = {}): BlockDevice[] {
  const arr = () => md('md127', [lv('vg--old-root', lvExtra)], mdExtra);
  return ['vda', 'vdb'].map((n) => fakeDisk(n, 700, { children: [fakePart(`${n}1`, 64), fakePart(`${n}2`, 600, { children: [arr()] })] }));
}
const busy = [held('/dev/vda2', 'md127'), held('/dev/vdb2', 'md127'), held('/dev/md127', 'dm-0')];

describe('stale arrays and volumes on the target disks', () => {
  it('splits device-mapper names as LVM makes them', () => {
    expect(splitLvmDmName('vg_si-root')).toEqual({ vg: 'vg_si', lv: 'root' });
    expect(splitLvmDmName('vg--old-my--root')).toEqual({ vg: 'vg-old', lv: 'my-root' });
    expect(splitLvmDmName('nohyphen')).toBeNull();
  });

  it('stops the volume group, then the array, when both are built on the targets alone and nothing is mounted', () => {
    const holders = findStaleHolders(mirrored(), ['/dev/vda', '/dev/vdb'], busy);
    expect(holders).toEqual([{ path: '/dev/mapper/vg--old-root', kind: 'lvm', vg: 'vg-old' }, { path: '/dev/md127', kind: 'md' }]);
    expect(buildReleaseCommands(holders).map(line)).toEqual(['lvm vgchange -an vg-old', 'mdadm --stop /dev/md127']);
  });

  it('touches nothing when the array also sits on a disk not being installed', () => {
    expect(findStaleHolders(mirrored(), ['/dev/vda'], busy)).toEqual([]);
  });

  it('touches nothing when something on them is mounted or swapped, or the disk is busy otherwise', () => {
    expect(findStaleHolders(mirrored({}, { mountpoints: ['/mnt'] }), ['/dev/vda', '/dev/vdb'], busy)).toEqual([]);
    expect(findStaleHolders(mirrored(), ['/dev/vda', '/dev/vdb'], [...busy, { device: '/dev/vda1', reason: 'in use as swap' }])).toEqual([]);
    const crypt = [fakeDisk('vdc', 100, { children: [fakeDisk('luks', 90, { type: 'crypt' })] })];
    expect(findStaleHolders(crypt, ['/dev/vdc'], [held('/dev/vdc', 'dm-1')])).toEqual([]);
  });
});
