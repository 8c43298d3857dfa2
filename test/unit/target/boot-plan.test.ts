import { describe, expect, it } from 'vitest';
import type { DiskPlan } from '../../../agent/plan/disk-plan-types.js';
import { bootDisks, espMount } from '../../../agent/target/boot-disk.js';
import { distroId, planBootLoader } from '../../../agent/target/boot-plan.js';
import { renderScConfig, SC_ARGS, findSystemConfigurator } from '../../../agent/target/systemconfigurator.js';
import { resolveNetSettings } from '../../../agent/target/net-settings.js';
import { memoryTargetView } from '../../../agent/target/target-view.js';
import { paramsOf } from './fixture-tree.js';

const part = (device: string, num: number) => ({ device, num }) as DiskPlan['disks'][number]['parts'][number];
const disk = (device: string, n: number) => ({ device, parts: Array.from({ length: n }, (_, i) => part(`${device}p${i + 1}`, i + 1)) }) as DiskPlan['disks'][number];
const mount = (device: string, mp: string, fs = 'ext4') => ({ device, mp, fs, options: [] });

/** A plain plan: /dev/loop0 with ESP p1 at /boot/efi and / on p2. */
const PLAIN: DiskPlan = {
  source: 't', allowed: null, disks: [disk('/dev/loop0', 2)], raids: [], vgs: [], filesystems: [], fstab: [], deviceMap: {},
  mounts: [mount('/dev/loop0p2', '/'), mount('/dev/loop0p1', '/boot/efi', 'vfat')],
};
/** /boot on RAID 1 over two disks, / on an LV of a VG over the same disks. */
const RAID: DiskPlan = {
  ...PLAIN,
  disks: [disk('/dev/loop1', 2), disk('/dev/loop2', 2)],
  raids: [{ device: '/dev/md0', members: ['/dev/sda1', '/dev/sdb1'] } as DiskPlan['raids'][number]],
  vgs: [{ name: 'vg', pvs: ['/dev/sda2', '/dev/sdb2'], lvs: [{ device: '/dev/vg/root' }] } as DiskPlan['vgs'][number]],
  deviceMap: { '/dev/sda1': '/dev/loop1p1', '/dev/sdb1': '/dev/loop2p1', '/dev/sda2': '/dev/loop1p2', '/dev/sdb2': '/dev/loop2p2' },
  mounts: [mount('/dev/vg/root', '/'), mount('/dev/md0', '/boot')],
};

const DEBIAN = {
  '/boot/vmlinuz-6.1.0-28-amd64': '', '/boot/initrd.img-6.1.0-28-amd64': '',
  '/usr/sbin/grub-install': '', '/usr/sbin/update-grub': '', '/usr/sbin/grub-mkconfig': '', '/usr/sbin/update-initramfs': '',
  '/usr/lib/grub/i386-pc/modinfo.sh': '', '/usr/lib/grub/x86_64-efi/modinfo.sh': '', '/etc/os-release': 'NAME="Debian"\nID=debian\n',
};

describe('boot disks', () => {
  it('finds the disk of / and the ESP', () => {
    expect(bootDisks(PLAIN)).toEqual(['/dev/loop0']);
    expect(espMount(PLAIN)).toEqual({ mp: '/boot/efi', device: '/dev/loop0p1' });
  });
  it('goes through md RAID and LVM to every member disk', () => expect(bootDisks(RAID)).toEqual(['/dev/loop1', '/dev/loop2']));
});

describe('planBootLoader', () => {
  it('BIOS on Debian: initramfs update, grub-install on each boot disk, update-grub', () => {
    const p = planBootLoader(memoryTargetView(DEBIAN), RAID, 'bios', { efivars: false });
    expect(p.commands).toEqual([
      ['/usr/sbin/update-initramfs', '-u', '-k', 'all'],
      ['/usr/sbin/grub-install', '--target=i386-pc', '--recheck', '/dev/loop1'],
      ['/usr/sbin/grub-install', '--target=i386-pc', '--recheck', '/dev/loop2'],
      ['/usr/sbin/update-grub'],
    ]);
  });

  it('UEFI: removable always, an NVRAM entry only with efivars and efibootmgr; -c when an initrd is missing', () => {
    const view = memoryTargetView({ ...DEBIAN, '/usr/bin/efibootmgr': '' });
    const strip = Object.fromEntries(Object.entries({ ...DEBIAN, '/usr/bin/efibootmgr': '' }).filter(([k]) => !k.startsWith('/boot/initrd')));
    const p = planBootLoader(memoryTargetView(strip), PLAIN, 'uefi', { efivars: true });
    const base = ['/usr/sbin/grub-install', '--target=x86_64-efi', '--efi-directory=/boot/efi', '--bootloader-id=debian', '--recheck'];
    expect(p.commands).toEqual([['/usr/sbin/update-initramfs', '-c', '-k', 'all'], [...base, '--removable', '--no-nvram'], base, ['/usr/sbin/update-grub']]);
    expect(planBootLoader(view, PLAIN, 'uefi', { efivars: false }).commands).toHaveLength(3);
  });

  it('RHEL: grub2-install, grub2-mkconfig into /boot/grub2, dracut', () => {
    const rhel = { '/boot/vmlinuz-4.18.0-513.el8.x86_64': '', '/usr/sbin/grub2-install': '', '/usr/sbin/grub2-mkconfig': '', '/usr/bin/dracut': '', '/usr/lib/grub2/i386-pc/x': '' };
    const p = planBootLoader(memoryTargetView(rhel), PLAIN, 'bios', { efivars: false });
    expect(p.commands).toEqual([['/usr/bin/dracut', '--regenerate-all', '-f'], ['/usr/sbin/grub2-install', '--target=i386-pc', '--recheck', '/dev/loop0'], ['/usr/sbin/grub2-mkconfig', '-o', '/boot/grub2/grub.cfg']]);
  });

  it.each([
    ['no kernel', { ...DEBIAN, '/boot/vmlinuz-6.1.0-28-amd64': undefined }, PLAIN, 'bios', /no kernel \(no \/boot\/vmlinuz-\*\).*BOOTLOADER=none/],
    ['no grub-install', { ...DEBIAN, '/usr/sbin/grub-install': undefined }, PLAIN, 'bios', /no boot loader \(no grub-install/],
    ['no BIOS modules', { ...DEBIAN, '/usr/lib/grub/i386-pc/modinfo.sh': undefined }, PLAIN, 'bios', /grub-pc-bin/],
    ['UEFI without ESP', DEBIAN, { ...PLAIN, mounts: [mount('/dev/loop0p2', '/')] }, 'uefi', /EFI system partition/],
  ])('%s -> a clear E_TARGET error', (_, files, plan, mode, re) => {
    const clean = Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined)) as Record<string, string>;
    expect(() => planBootLoader(memoryTargetView(clean), plan as DiskPlan, mode as 'bios', { efivars: false })).toThrow(re);
    try {
      planBootLoader(memoryTargetView(clean), plan as DiskPlan, mode as 'bios', { efivars: false });
    } catch (e) {
      expect((e as { code: string }).code).toBe('E_TARGET');
    }
  });

  it('reads the distribution id', () => {
    expect(distroId(memoryTargetView({ '/etc/os-release': 'ID="rocky"\n' }))).toBe('rocky');
    expect(distroId(memoryTargetView({ '/etc/os-release': 'ID=$(evil)\n' }))).toBe('linux');
  });
});

describe('SystemConfigurator config', () => {
  it('static and dhcp sections, nothing for replicant', () => {
    const st = resolveNetSettings(paramsOf({ HOSTNAME: 'n1', DOMAINNAME: 'lab', IPADDR: '10.0.0.5', NETMASK: '255.255.255.0', GATEWAY: '10.0.0.1' }));
    expect(renderScConfig(st, 'eth0')).toBe('[NETWORK]\nHOSTNAME = n1\nDOMAINNAME = lab\nGATEWAY = 10.0.0.1\n\n[INTERFACE0]\nDEVICE = eth0\nTYPE = static\nIPADDR = 10.0.0.5\nNETMASK = 255.255.255.0\n');
    expect(renderScConfig(resolveNetSettings(paramsOf({ HOSTNAME: 'n1' })), 'eth0')).toBe('[NETWORK]\nHOSTNAME = n1\n\n[INTERFACE0]\nDEVICE = eth0\nTYPE = dhcp\n');
    expect(renderScConfig(resolveNetSettings(paramsOf({ IP_ASSIGNMENT: 'replicant' })), 'eth0')).toBe('');
    expect(SC_ARGS).toEqual(['--confighw', '--confignet', '--configboot', '--runboot', '--stdin']);
    expect(findSystemConfigurator(memoryTargetView({ '/usr/sbin/systemconfigurator': '' }))).toBe('/usr/sbin/systemconfigurator');
  });
});
