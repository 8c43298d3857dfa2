// Unit: the installed boot entry for kexec comes from grub.cfg's first entry, else the newest /boot kernel.

import { describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
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

  /** A fake initrd root: modules.dep naming the always-needed modules, and a /sys/bus with the given devices. */
  function fakeRoot(devices: Record<string, string>): string {
    const root = mkdtempSync(join(tmpdir(), 'si-mods-'));
    const dep = join(root, 'lib/modules', release());
    mkdirSync(dep, { recursive: true });
    writeFileSync(join(dep, 'modules.dep'), 'kernel/drivers/scsi/sd_mod.ko:\nkernel/drivers/scsi/sr_mod.ko:\nkernel/net/packet/af_packet.ko:\n');
    for (const [dir, alias] of Object.entries(devices)) addDevice(root, dir, alias);
    mkdirSync(join(root, 'proc'));
    writeFileSync(join(root, 'proc/modules'), '');
    return root;
  }
  /** What modprobe of module names (not aliases) leaves in /proc/modules. */
  const loadNamed = (root: string, args: readonly string[]) => {
    for (const m of args.filter((a) => !a.startsWith('-') && !a.includes(':'))) appendFileSync(join(root, 'proc/modules'), `${m} 16384 0 - Live 0x0\n`);
  };
  const addDevice = (root: string, dir: string, alias: string) => {
    mkdirSync(join(root, 'sys/bus', dir), { recursive: true });
    writeFileSync(join(root, 'sys/bus', dir, 'modalias'), `${alias}\n`);
  };
  /**
   * The kernel's side, as the runner sees it: each command is recorded in calls; a few ms later (while modprobe runs)
   * the named modules are loaded and the devices a driver brings appear (virtio_pci's virtio NIC, the IDE's CD drive).
   */
  const fakeKernel = (root: string, calls: string[]): Runner => async (tool, args) => {
    calls.push([tool, ...args].join(' '));
    await new Promise((r) => setTimeout(r, 5));
    loadNamed(root, args);
    if (args.includes(NIC)) addDevice(root, 'virtio/devices/virtio0', VNET);
    if (args.includes(IDE)) addDevice(root, 'scsi/devices/1:0:0:0', CD);
    return { code: 0, stdout: '', stderr: '' } as Awaited<ReturnType<Runner>>;
  };

  it('one CPU: NIC drivers (with af_packet) first; then the rest, and what their bus brought, after which the network is said ready', async () => {
    const { loadInitrdModules } = await import('../../../agent/init/load-modules.js');
    const root = fakeRoot({ 'pci/devices/0000:00:03.0': NIC, 'pci/devices/0000:00:01.1': IDE });
    const calls: string[] = [];
    const run = fakeKernel(root, calls);
    try {
      const asked = await loadInitrdModules(run, new Reporter(), { root: `${root}/`, cpus: 1, onNetworkDrivers: () => void calls.push('network ready') });
      expect(calls).toEqual([
        `modprobe -a -q af_packet ${NIC}`,
        `modprobe -a -q sd_mod sr_mod ${IDE}`,
        `modprobe -a -q ${VNET}`,
        'network ready',
        `modprobe -a -q ${CD}`,
      ]);
      expect(asked).toBe(7);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('no PCI NIC: the network is said ready as the rest starts (a NIC on another bus comes with the rest)', async () => {
    const { loadInitrdModules } = await import('../../../agent/init/load-modules.js');
    const root = fakeRoot({ 'pci/devices/0000:00:01.1': IDE });
    rmSync(join(root, 'lib/modules', release(), 'modules.dep'));
    writeFileSync(join(root, 'lib/modules', release(), 'modules.dep'), 'kernel/drivers/scsi/sd_mod.ko:\n');
    const calls: string[] = [];
    const run = fakeKernel(root, calls);
    try {
      await loadInitrdModules(run, new Reporter(), { root: `${root}/`, cpus: 1, onNetworkDrivers: () => void calls.push('network ready') });
      // Said ready as the rest starts loading, not after it.
      expect(calls).toEqual([`modprobe -a -q sd_mod ${IDE}`, 'network ready', `modprobe -a -q ${CD}`]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('several CPUs: the rest starts with the NIC drivers', async () => {
    const { loadInitrdModules } = await import('../../../agent/init/load-modules.js');
    const root = fakeRoot({ 'pci/devices/0000:00:03.0': NIC, 'pci/devices/0000:00:01.1': IDE });
    const calls: string[] = [];
    const run = fakeKernel(root, calls);
    try {
      await loadInitrdModules(run, new Reporter(), { root: `${root}/`, cpus: 4, onNetworkDrivers: () => void calls.push('network ready') });
      expect(calls.slice(0, 2)).toEqual([`modprobe -a -q sd_mod sr_mod ${IDE}`, `modprobe -a -q af_packet ${NIC}`]);
      expect(calls.indexOf(`modprobe -a -q ${VNET}`)).toBeLessThan(calls.indexOf('network ready'));
      expect(calls.filter((c) => c.includes(CD))).toHaveLength(1);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
