import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findDevice, parseLsblkJson } from '../../../agent/disk/block-device.js';
import { busyReasonsForDisk, findBusyDevices } from '../../../agent/disk/busy.js';

const sample = readFileSync('fixtures/layouts/lsblk-sample.json', 'utf8');

describe('parseLsblkJson', () => {
  const devs = parseLsblkJson(sample, { '/dev/sda': ['/dev/disk/by-id/ata-Samsung_SSD_860_S3Z9NB0K123456'] });
  it('reads typed (2.38) and string-typed (old lsblk) fields', () => {
    expect(devs.map((d) => [d.path, d.type, d.sizeBytes, d.removable, d.children.length])).toEqual([
      ['/dev/loop0', 'loop', 314572800, false, 2],
      ['/dev/sr0', 'rom', 1073741312, true, 0],
      ['/dev/sda', 'disk', 21474836480, false, 1],
    ]);
    expect(devs[0]!.children[0]!.mountpoints).toEqual(['/tmp/capmnt']);
    expect(devs[2]).toMatchObject({ serial: 'S3Z9NB0K123456', wwn: '0x5002538e40a1b2c3', model: 'Samsung SSD 860' });
    expect(devs[2]!.children[0]!.children[0]).toMatchObject({ path: '/dev/md0', type: 'raid1', mountpoints: ['/srv'] });
  });
  it('finds devices by path, kernel name or link', () => {
    expect(findDevice(devs, '/dev/loop0p2')?.name).toBe('loop0p2');
    expect(findDevice(devs, '/dev/disk/by-id/ata-Samsung_SSD_860_S3Z9NB0K123456')?.name).toBe('sda');
    expect(findDevice(devs, '/dev/nope')).toBeNull();
  });
});

describe('findBusyDevices', () => {
  const devs = parseLsblkJson(sample);
  const inputs = {
    mounts: 'proc /proc proc rw 0 0\n/dev/vda / ext4 rw 0 0\n/dev/loop0p1 /tmp/cap\\040mnt ext4 rw 0 0\n',
    swaps: 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/loop0p2                            partition\t102396\t\t0\t\t-2\n',
    holders: { sda1: ['md0'], loop0: [] },
    rootMajMin: '8:0',
  };
  const busy = findBusyDevices(devs, inputs);
  it('collects mounts, swaps, holders, lsblk mountpoints and the root device', () => {
    expect(busy).toEqual(expect.arrayContaining([
      { device: '/dev/vda', reason: 'mounted on /' },
      { device: '/dev/loop0p1', reason: 'mounted on /tmp/cap mnt' },
      { device: '/dev/loop0p2', reason: 'in use as swap' },
      { device: '/dev/sda1', reason: 'held by md0' },
      { device: '/dev/md0', reason: 'mounted on /srv' },
      { device: '/dev/sda', reason: 'holds the running root filesystem' },
    ]));
  });
  it('attributes busy partitions and md devices to their disk', () => {
    expect(busyReasonsForDisk(devs[0]!, busy)).toEqual([
      '/dev/loop0p1 mounted on /tmp/cap mnt', '/dev/loop0p2 in use as swap', '/dev/loop0p1 mounted on /tmp/capmnt',
    ]);
    expect(busyReasonsForDisk(devs[2]!, busy)).toEqual(expect.arrayContaining(['/dev/sda1 held by md0', '/dev/md0 mounted on /srv']));
    expect(busyReasonsForDisk(devs[1]!, busy)).toEqual([]);
  });
});
