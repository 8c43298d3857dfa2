// Unit: the installed boot entry for kexec comes from grub.cfg's first entry, else the newest /boot kernel.

import { describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Runner } from '../../../agent/exec/runner.js';
import { Reporter } from '../../../agent/report/events.js';
import { parseGrubCfg, readBootEntry } from '../../../agent/init/boot-config.js';
import { moduleNamesFromDep } from '../../../agent/init/load-modules.js';
import { workerArgv } from '../../../agent/init/pid1.js';

const GRUB = `
set default="0"
menuentry 'Debian GNU/Linux' --class debian {
	load_video
	insmod ext2
	search --no-floppy --fs-uuid --set=root 1234-abcd
	echo	'Loading Linux 6.1.0-40-amd64 ...'
	linux	/boot/vmlinuz-6.1.0-40-amd64 root=UUID=0f1e2d3c-aaaa-bbbb-cccc-111122223333 ro  quiet
	echo	'Loading initial ramdisk ...'
	initrd	/boot/initrd.img-6.1.0-40-amd64
}
submenu 'Advanced options' {
	menuentry 'other' {
		linux /boot/vmlinuz-old root=/dev/sda1
	}
}
`;

describe('boot entry', () => {
  it('parses the first menu entry of a Debian grub.cfg', () => {
    expect(parseGrubCfg(GRUB)).toEqual({
      kernel: '/boot/vmlinuz-6.1.0-40-amd64',
      args: 'root=UUID=0f1e2d3c-aaaa-bbbb-cccc-111122223333 ro  quiet',
      initrd: '/boot/initrd.img-6.1.0-40-amd64',
    });
  });

  it('finds grub paths relative to a separate /boot, and falls back to the newest kernel', () => {
    const root = mkdtempSync(join(tmpdir(), 'si-bootcfg-'));
    try {
      mkdirSync(join(root, 'boot/grub'), { recursive: true });
      writeFileSync(join(root, 'boot/vmlinuz-6.1.0-9-amd64'), 'k');
      writeFileSync(join(root, 'boot/vmlinuz-6.1.0-10-amd64'), 'k');
      writeFileSync(join(root, 'boot/initrd.img-6.1.0-10-amd64'), 'i');
      expect(readBootEntry(root, 'LABEL=root')).toEqual({
        kernel: join(root, 'boot/vmlinuz-6.1.0-10-amd64'),
        initrd: join(root, 'boot/initrd.img-6.1.0-10-amd64'),
        cmdline: 'root=LABEL=root ro',
        from: '/boot/vmlinuz-6.1.0-10-amd64',
      });
      // /boot as its own filesystem: grub.cfg says /vmlinuz-..., the file is under sysroot/boot.
      writeFileSync(join(root, 'boot/grub/grub.cfg'), "menuentry 'x' {\n linux /vmlinuz-6.1.0-9-amd64 root=/dev/sda2 ro\n}\n");
      expect(readBootEntry(root, undefined)).toMatchObject({ kernel: join(root, 'boot/vmlinuz-6.1.0-9-amd64'), cmdline: 'root=/dev/sda2 ro', from: 'boot/grub/grub.cfg' });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('an installed system without a kernel is a clear error', () => {
    const root = mkdtempSync(join(tmpdir(), 'si-bootcfg-'));
    try {
      expect(() => readBootEntry(root, 'LABEL=root')).toThrow(/no kernel/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('PID 1 helpers', () => {
  it('reads module names from modules.dep, compressed or not, dashes as underscores', () => {
    expect(moduleNamesFromDep('kernel/drivers/block/virtio_blk.ko.xz: kernel/drivers/virtio/virtio.ko.xz\nkernel/drivers/md/dm-mod.ko.zst:\n\n')).toEqual(['virtio_blk', 'dm_mod']);
  });

  it('runs the install under tini as a subreaper when tini is there', () => {
    expect(workerArgv('/init', '/usr/bin/tini')).toEqual(['/usr/bin/tini', '-s', '-g', '--', '/init', 'init', '--worker']);
    expect(workerArgv('/init', undefined)).toEqual(['/init', 'init', '--worker']);
  });
});

describe('hardware modules by modalias', () => {
  it('collects each modalias of the devices on a /sys/bus once', async () => {
    const { collectModaliases } = await import('../../../agent/init/load-modules.js');
    const root = mkdtempSync(join(tmpdir(), 'si-sys-'));
    try {
      for (const [dir, alias] of [
        ['pci/devices/0000:00:03.0', 'pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00'],
        ['virtio/devices/virtio0', 'virtio:d00000001v00001AF4'],
        ['pci/devices/0000:00:04.0', 'pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00'],
        ['cpu/devices/cpu0', ''],
      ] as const) {
        mkdirSync(join(root, dir), { recursive: true });
        writeFileSync(join(root, dir, 'modalias'), `${alias}\n`);
      }
      expect(collectModaliases(root)).toEqual(['pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00', 'virtio:d00000001v00001AF4']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('the order the drivers load in', () => {
  const NIC = 'pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00';
  const IDE = 'pci:v00008086d00007010sv00001AF4sd00001100bc01sc01i80';
  const VNET = 'virtio:d00000001v00001AF4';
  const CD = 'scsi:t-0x05';
  const ALL = ['sd_mod', 'sr_mod', 'af_packet', 'virtio_net'];
  const NIC_DEV = 'pci/devices/0000:00:03.0';
  const IDE_DEV = 'pci/devices/0000:00:01.1';

  /** A fake initrd root: modules.dep naming these modules, a /sys/bus with the given devices, an empty /proc/modules. */
  function fakeRoot(devices: Record<string, string>, carried = ALL): string {
    const root = mkdtempSync(join(tmpdir(), 'si-mods-'));
    const dep = join(root, 'lib/modules', release());
    mkdirSync(dep, { recursive: true });
    writeFileSync(join(dep, 'modules.dep'), carried.map((m) => `kernel/drivers/${m}.ko:\n`).join(''));
    for (const [dir, alias] of Object.entries(devices)) {
      addDevice(root, dir, alias);
      writeFileSync(join(root, 'sys/bus', dir, 'class'), alias === NIC ? '0x020000\n' : '0x010180\n');
    }
    mkdirSync(join(root, 'proc'));
    writeFileSync(join(root, 'proc/modules'), '');
    mkdirSync(join(root, 'sys/class/net'), { recursive: true });
    return root;
  }
  const addDevice = (root: string, dir: string, alias: string) => {
    mkdirSync(join(root, 'sys/bus', dir), { recursive: true });
    writeFileSync(join(root, 'sys/bus', dir, 'modalias'), `${alias}\n`);
  };
  const loaded = (root: string, m: string) => readFileSync(join(root, 'proc/modules'), 'utf8').split('\n').some((l) => l.startsWith(`${m} `));
  /** A device gets its driver: a `driver` entry, and for the virtio NIC its link. */
  const bind = (root: string, dir: string) => {
    mkdirSync(join(root, 'sys/bus', dir, 'driver'), { recursive: true });
    if (dir.startsWith('virtio/')) mkdirSync(join(root, 'sys/class/net/eth0'), { recursive: true });
  };

  /**
   * The kernel's side, as the runner sees it: each command is recorded in calls; a few ms later (while modprobe runs)
   * the named modules are loaded, and the devices a driver brings appear, bound when their driver is loaded: the
   * virtio NIC under virtio_pci (virtio_net), the CD drive under the IDE controller (sr_mod).
   */
  const fakeKernel = (root: string, calls: string[]): Runner => async (tool, args) => {
    calls.push([tool, ...args].join(' '));
    await new Promise((r) => setTimeout(r, 5));
    for (const m of args.filter((a) => !a.startsWith('-') && !a.includes(':'))) appendFileSync(join(root, 'proc/modules'), `${m} 16384 0 - Live 0x0\n`);
    if (args.includes(NIC)) {
      bind(root, NIC_DEV);
      addDevice(root, 'virtio/devices/virtio0', VNET);
      if (loaded(root, 'virtio_net')) bind(root, 'virtio/devices/virtio0');
    }
    if (args.includes(VNET)) bind(root, 'virtio/devices/virtio0');
    if (args.includes(IDE)) {
      bind(root, IDE_DEV);
      addDevice(root, 'scsi/devices/1:0:0:0', CD);
      if (loaded(root, 'sr_mod')) bind(root, 'scsi/devices/1:0:0:0');
    }
    if (args.includes(CD)) bind(root, 'scsi/devices/1:0:0:0');
    return { code: 0, stdout: '', stderr: '' } as Awaited<ReturnType<Runner>>;
  };

  const load = async (root: string, cpus: number) => {
    const { loadInitrdModules } = await import('../../../agent/init/load-modules.js');
    const calls: string[] = [];
    try {
      const asked = await loadInitrdModules(fakeKernel(root, calls), new Reporter(), { root: `${root}/`, cpus, onNetworkDrivers: () => void calls.push('network ready') });
      return { calls, asked };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };

  it('one CPU: one modprobe, the NIC drivers first in it (af_packet, virtio_net for a virtio NIC); a bound device needs no pass', async () => {
    const { calls, asked } = await load(fakeRoot({ [NIC_DEV]: NIC, [IDE_DEV]: IDE }), 1);
    expect(calls).toEqual([`modprobe -a -q af_packet virtio_net ${NIC} sd_mod sr_mod ${IDE}`, 'network ready']);
    expect(asked).toBe(5);
  });

  it('one CPU: the network is said ready while the modprobe still runs, once the NIC has its driver and link', async () => {
    const { nicsReady, networkControllers } = await import('../../../agent/init/load-modules.js');
    const root = fakeRoot({ [NIC_DEV]: NIC, [IDE_DEV]: IDE });
    try {
      const nics = networkControllers(`${root}/`);
      expect(nics).toEqual(['0000:00:03.0']);
      expect(nicsReady(`${root}/`, nics)).toBe(false);
      bind(root, NIC_DEV);
      expect(nicsReady(`${root}/`, nics)).toBe(false); // virtio_pci has it, virtio_net not yet: no link
      bind(root, 'virtio/devices/virtio0');
      expect(nicsReady(`${root}/`, nics)).toBe(true);
      expect(nicsReady(`${root}/`, [])).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a NIC behind a bus whose driver is not known: what the bus brought loads in a pass of its own', async () => {
    const { calls } = await load(fakeRoot({ [NIC_DEV]: NIC, [IDE_DEV]: IDE }, ['sd_mod', 'sr_mod', 'af_packet']), 1);
    expect(calls).toEqual([`modprobe -a -q af_packet ${NIC} sd_mod sr_mod ${IDE}`, 'network ready', `modprobe -a -q ${VNET}`]);
  });

  it('no PCI NIC: the network is said ready at once; a device left without a driver gets a pass of its own', async () => {
    const { calls } = await load(fakeRoot({ [IDE_DEV]: IDE }, ['sd_mod']), 1);
    expect(calls).toEqual(['network ready', `modprobe -a -q sd_mod ${IDE}`, `modprobe -a -q ${CD}`]);
  });

  it('several CPUs: the NICs modprobe and the rest at once; the network said ready after the NICs', async () => {
    const { calls } = await load(fakeRoot({ [NIC_DEV]: NIC, [IDE_DEV]: IDE }), 4);
    expect(calls).toEqual([`modprobe -a -q sd_mod sr_mod ${IDE}`, `modprobe -a -q af_packet virtio_net ${NIC}`, 'network ready']);
  });

  it('names the virtio drivers the virtio PCI devices need, legacy and modern ids', async () => {
    const { virtioChildModules } = await import('../../../agent/init/load-modules.js');
    expect(virtioChildModules([NIC, 'pci:v00001AF4d00001042sv00001AF4sd00001100bc01sc00i00', IDE, 'pci:v00001AF4d00001005sv00001AF4sd00000004bc00sc00i00'])).toEqual(['virtio_net', 'virtio_blk']);
  });
});
