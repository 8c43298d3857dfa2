// The configure step on a real debootstrapped Debian on loop disks (root): GRUB for BIOS and UEFI, initramfs, identity, network.

import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Ctx, newFlowState } from '../../agent/steps/context.js';
import { configureStep } from '../../agent/steps/configure.js';
import type { DiskPlan, PlannedMount } from '../../agent/plan/disk-plan-types.js';
import { createLoopLab, mountsUnder, readBlkid, type LoopLab } from './disk-helpers.js';
import { debianRoot } from './lib/debian-root.js';

const isRoot = process.getuid?.() === 0;

/** True when the kernel can mount vfat (grub-install refuses an ESP that is not FAT); loads the module if it can. */
function kernelHasVfat(): boolean {
  if (/\tvfat$/m.test(readFileSync('/proc/filesystems', 'utf8'))) return true;
  spawnSync('modprobe', ['vfat']);
  return /\tvfat$/m.test(readFileSync('/proc/filesystems', 'utf8'));
}
/** A fake install environment for SI_ROOT: eth0 a virtio NIC at PCI 0000:00:05.0 and a resolv.conf. */
function makeInstallEnv(dir: string): void {
  const pci = join(dir, 'sys/devices/pci0000:00/0000:00:05.0');
  mkdirSync(join(pci, 'virtio1/net/eth0'), { recursive: true });
  mkdirSync(join(dir, 'sys/class/net'), { recursive: true });
  symlinkSync('../../devices/pci0000:00/0000:00:05.0/virtio1/net/eth0', join(dir, 'sys/class/net/eth0'));
  symlinkSync('../../../virtio1', join(pci, 'virtio1/net/eth0/device'));
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc/resolv.conf'), 'nameserver 10.9.8.7\n');
}

function makeCtx(lab: LoopLab, plan: DiskPlan, values: Record<string, string>): Ctx {
  const state = newFlowState();
  state.diskPlan = plan;
  state.mounted = true;
  return {
    opts: { mode: 'install', cmdlineText: '', localCfgFiles: [], disks: lab.loops, sysroot: lab.sysroot, workdir: lab.dir, network: false, performPostAction: false, rsyncPort: 873 },
    run: lab.run, report: lab.report, signal: new AbortController().signal, state,
    params: new Map(Object.entries(values).map(([k, v]) => [k, { value: v, source: 'cmdline' }])),
  };
}

const planOf = (disk: string, mounts: PlannedMount[]): DiskPlan => ({
  source: 'test', allowed: [disk], disks: [{ device: disk, parts: mounts.map((m, i) => ({ device: m.device, num: i + 1 })) } as DiskPlan['disks'][number]],
  raids: [], vgs: [], filesystems: [], fstab: [], deviceMap: {}, mounts,
});

const firstSector = (dev: string) => {
  const buf = Buffer.alloc(512);
  const fd = openSync(dev, 'r');
  readSync(fd, buf, 0, 512, 0);
  closeSync(fd);
  return buf;
};

describe.skipIf(!isRoot)('configure step on a debootstrapped Debian (root, slow)', () => {
  let cache: { root?: string; why?: string } = {};
  let lab: LoopLab | undefined;
  const env = mkdtempSync(join(tmpdir(), 'si-target-env-'));
  const savedRoot = process.env.SI_ROOT;
  const hadDevDisk = existsSync('/dev/disk');
  beforeAll(() => {
    cache = debianRoot();
    if (cache.why) console.warn(`target-debian: skipped: ${cache.why}`);
    makeInstallEnv(env);
    process.env.SI_ROOT = env;
  }, 20 * 60 * 1000);
  afterEach(async () => {
    await lab?.cleanup();
    lab = undefined;
  });
  afterAll(() => {
    if (savedRoot === undefined) delete process.env.SI_ROOT;
    else process.env.SI_ROOT = savedRoot;
    rmSync(env, { recursive: true, force: true });
  });

  it('BIOS: no kernel is a clear error first, then GRUB in the MBR, root=UUID, new initramfs, identity reset', async (t) => {
    if (!cache.root) return t.skip();
    lab = await createLoopLab('target-bios');
    const disk = await lab.addLoop(1536);
    await lab.run('parted', ['-s', disk, 'mklabel', 'msdos', 'mkpart', 'primary', 'ext4', '1MiB', '100%', 'set', '1', 'boot', 'on']);
    await lab.run('partprobe', [disk], { allowFail: true });
    const part = `${disk}p1`;
    await lab.run('mkfs.ext4', ['-q', '-F', part]);
    mkdirSync(lab.sysroot);
    await lab.run('mount', [part, lab.sysroot]);
    await lab.run('rsync', ['-aHAX', '--exclude=/.si-complete', '--exclude=/boot/vmlinuz-*', `${cache.root}/`, `${lab.sysroot}/`]);
    const plan = planOf(disk, [{ device: part, mp: '/', fs: 'ext4', options: [] }]);
    const values = { HOSTNAME: 'node1', DOMAINNAME: 'lab.example', IPADDR: '10.0.0.11', NETMASK: '255.255.255.0', GATEWAY: '10.0.0.1', DEVICE: 'eth0', BOOT_MODE: 'bios' };

    await expect(configureStep.run(makeCtx(lab, plan, values))).rejects.toMatchObject({ code: 'E_TARGET', message: expect.stringMatching(/no kernel/) });
    expect(mountsUnder(lab.sysroot).map((m) => m.mp)).toEqual([lab.sysroot]); // nothing left bound, the root still mounted

    await lab.run('rsync', ['-a', `${cache.root}/boot/`, `${lab.sysroot}/boot/`]);
    const goldenKey = readFileSync(join(cache.root, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8');
    const kver = readdirSync(join(lab.sysroot, 'lib/modules'))[0]!;
    const initrdPath = join(lab.sysroot, `boot/initrd.img-${kver}`);
    const before = statSync(initrdPath).mtimeMs;
    await configureStep.run(makeCtx(lab, plan, values));

    expect(firstSector(disk).includes('GRUB')).toBe(true);
    expect(existsSync(join(lab.sysroot, 'boot/grub/i386-pc/normal.mod'))).toBe(true);
    const uuid = (await readBlkid(lab.run, part)).UUID!;
    const cfg = readFileSync(join(lab.sysroot, 'boot/grub/grub.cfg'), 'utf8');
    expect(cfg).toContain(`root=UUID=${uuid}`);
    expect(cfg).toContain(`initrd\t/boot/initrd.img-${kver}`);
    expect(statSync(initrdPath).mtimeMs).toBeGreaterThan(before);
    expect(readFileSync(join(lab.sysroot, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8')).not.toBe(goldenKey);
    expect(readFileSync(join(lab.sysroot, 'etc/machine-id'), 'utf8')).toBe('');
    expect(readFileSync(join(lab.sysroot, 'etc/hostname'), 'utf8')).toBe('node1\n');
    expect(readFileSync(join(lab.sysroot, 'etc/hosts'), 'utf8')).toContain('127.0.1.1\tnode1.lab.example\tnode1\n');
    expect(readFileSync(join(lab.sysroot, 'etc/network/interfaces'), 'utf8')).toContain('auto enp0s5\niface enp0s5 inet static\n\taddress 10.0.0.11\n');
    expect(mountsUnder(lab.sysroot).map((m) => m.mp)).toEqual([lab.sysroot]);
    expect(existsSync('/dev/disk')).toBe(hadDevDisk); // by-uuid links made for GRUB are gone again
  }, 10 * 60 * 1000);

  it('UEFI: removable GRUB on the ESP (EFI/BOOT/BOOTX64.EFI) and root=UUID', async (t) => {
    if (!cache.root) return t.skip();
    if (!kernelHasVfat()) {
      console.warn('target-debian UEFI: skipped: this kernel cannot mount vfat (no vfat module), and grub-install needs a FAT ESP');
      return t.skip();
    }
    lab = await createLoopLab('target-uefi');
    const disk = await lab.addLoop(1536);
    await lab.run('parted', ['-s', disk, 'mklabel', 'gpt', 'mkpart', 'ESP', 'fat32', '1MiB', '101MiB', 'set', '1', 'esp', 'on', 'mkpart', 'root', 'ext4', '101MiB', '100%']);
    await lab.run('partprobe', [disk], { allowFail: true });
    await lab.run('mkfs.vfat', ['-F', '32', `${disk}p1`]);
    await lab.run('mkfs.ext4', ['-q', '-F', `${disk}p2`]);
    mkdirSync(lab.sysroot);
    await lab.run('mount', [`${disk}p2`, lab.sysroot]);
    mkdirSync(join(lab.sysroot, 'boot/efi'), { recursive: true });
    await lab.run('mount', [`${disk}p1`, join(lab.sysroot, 'boot/efi')]);
    await lab.run('rsync', ['-aHAX', '--exclude=/.si-complete', `${cache.root}/`, `${lab.sysroot}/`]);
    const plan = planOf(disk, [{ device: `${disk}p2`, mp: '/', fs: 'ext4', options: [] }, { device: `${disk}p1`, mp: '/boot/efi', fs: 'vfat', options: [] }]);
    await configureStep.run(makeCtx(lab, plan, { HOSTNAME: 'node2', DEVICE: 'eth0', BOOT_MODE: 'uefi' }));
    expect(existsSync(join(lab.sysroot, 'boot/efi/EFI/BOOT/BOOTX64.EFI'))).toBe(true);
    const uuid = (await readBlkid(lab.run, `${disk}p2`)).UUID!;
    expect(readFileSync(join(lab.sysroot, 'boot/grub/grub.cfg'), 'utf8')).toContain(`root=UUID=${uuid}`);
    expect(readFileSync(join(lab.sysroot, 'etc/network/interfaces'), 'utf8')).toContain('iface enp0s5 inet dhcp\n');
    expect(mountsUnder(lab.sysroot).map((m) => m.mp)).toEqual([lab.sysroot, join(lab.sysroot, 'boot/efi')]);
  }, 10 * 60 * 1000);
});
