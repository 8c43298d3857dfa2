// Boot tier (needs root, qemu-system-x86_64, socat, rsync; TCG, no KVM): the whole autoinstall under QEMU.
// The standard package boots with IMAGESERVER=10.0.2.100; guestfwd sends the guest's rsync and monitor connections
// to a fixture rsyncd and a monitor listener on 127.0.0.1 (user networking, restrict=on). The agent (PID 1) gets its
// address by DHCP from QEMU, partitions the virtio disks, lays the image down, powers off; the test then reads the
// disks through loop devices. RAID1 and LVM run here because they need md and device-mapper, which the Debian
// kernel in the initrd has (a host kernel may not).

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, startRsyncd, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { listenMonitor, statuses, type MonitorListener } from '../system/lib/monitor-listener.ts';
import { buildTestPackage, canBoot, removeTestDir } from './package-fixture.ts';
import { bootQemu, SERVER_IP, tailOf } from './qemu.ts';
import { INSTALLER_KERNEL_WORDS } from '../../agent/init/installer-kernel-words.ts';

const LAYOUTS = resolve(import.meta.dirname, '../../fixtures/layouts');
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const quiet = (cmd: string, args: string[]) => {
  try {
    sh(cmd, args);
  } catch {
    /* best-effort cleanup */
  }
};

interface Case {
  name: string;
  layout: string;
  disksMiB: number[];
  /** Install over the previous case's disk images as they were left (a second install with another layout). */
  reuseDisks?: boolean;
  /** After power-off: what to check on the disks (loops attached in order). */
  check(loops: string[], mnt: string, mounted: string[]): void;
  /** Undo md/LVM activation done by check. */
  release?(): void;
}

const mount = (dev: string, mp: string, mounted: string[]) => {
  mkdirSync(mp, { recursive: true });
  sh('mount', ['-o', 'ro', dev, mp]);
  mounted.unshift(mp);
};

const CASES: Case[] = [
  {
    name: 'RAID1 across two disks',
    layout: 'raid1.xml',
    disksMiB: [600, 600],
    check(l, mnt, mounted) {
      sh('mdadm', ['--examine', `${l[0]}p2`]);
      expect(sh('mdadm', ['--examine', `${l[1]}p2`])).toMatch(/Raid Level : raid1/);
      // This host may have no md driver: mount one mirror half through its data offset instead of assembling.
      const offset = Number(/Data Offset : (\d+) sectors/.exec(sh('mdadm', ['--examine', `${l[0]}p2`]))![1]) * 512;
      const half = sh('losetup', ['-f', '--show', '-r', '-o', String(offset), `${l[0]}p2`]).trim();
      try {
        expect(sh('blkid', ['-o', 'value', '-s', 'LABEL', half]).trim()).toBe('root');
        mount(half, mnt, mounted);
      } finally {
        extraLoops.push(half);
      }
      expect(readFileSync(join(mnt, 'etc/fstab'), 'utf8')).toMatch(/^LABEL=root\s+\/\s+ext4/m);
    },
  },
  {
    name: 'LVM: two logical volumes',
    layout: 'lvm.xml',
    disksMiB: [1200],
    check(l, mnt, mounted) {
      // This host may have no device-mapper: find the root LV's extents on the PV from the LVM metadata and mount
      // them through a loop device with that offset and size.
      const pvArgs = ['--noheadings', '--units', 'b', '--nosuffix'];
      expect(sh('pvs', [...pvArgs, '-o', 'vg_name', `${l[0]}p2`]).trim()).toBe('vg_si');
      const lvs = sh('lvs', ['--noheadings', '-o', 'lv_name', 'vg_si']).split('\n').map((x) => x.trim()).filter(Boolean).sort();
      expect(lvs).toEqual(['data', 'root']);
      const peStart = Number(sh('pvs', [...pvArgs, '-o', 'pe_start', `${l[0]}p2`]).trim());
      const extent = Number(sh('vgs', [...pvArgs, '-o', 'vg_extent_size', 'vg_si']).trim());
      const range = /:(\d+)-(\d+)\s*$/.exec(sh('lvs', ['--noheadings', '--segments', '-o', 'seg_pe_ranges', 'vg_si/root']).trim())!;
      const offset = peStart + Number(range[1]) * extent;
      const size = (Number(range[2]) - Number(range[1]) + 1) * extent;
      const root = sh('losetup', ['-f', '--show', '-r', '-o', String(offset), '--sizelimit', String(size), `${l[0]}p2`]).trim();
      extraLoops.push(root);
      expect(sh('blkid', ['-o', 'value', '-s', 'LABEL', root]).trim()).toBe('root');
      mount(root, mnt, mounted);
      expect(readFileSync(join(mnt, 'etc/fstab'), 'utf8')).toMatch(/^LABEL=data\s+\/data\s+xfs/m);
    },
  },
  {
    // Over the LVM case's disk as it was left (msdos, a PV, two LVs): LVM then plain, the second install must succeed.
    name: 'gpt: ext4 /boot, swap, xfs / (over the LVM install)',
    layout: 'gpt-ext4-xfs-swap.xml',
    disksMiB: [1200],
    reuseDisks: true,
    check(l, mnt, mounted) {
      mount(`${l[0]}p4`, mnt, mounted);
      mount(`${l[0]}p2`, join(mnt, 'boot'), mounted);
      expect(readFileSync(join(mnt, 'etc/fstab'), 'utf8')).toMatch(/^LABEL=boot\s+\/boot\s+ext4/m);
      expect(sh('blkid', ['-o', 'value', '-s', 'TYPE', `${l[0]}p4`]).trim()).toBe('xfs');
      expect(sh('blkid', ['-o', 'value', '-s', 'TYPE', `${l[0]}p3`]).trim()).toBe('swap');
      // Only what this layout made: no LVM label, no msdos table left of the LVM install.
      const found = [l[0]!, `${l[0]}p1`, `${l[0]}p2`, `${l[0]}p3`, `${l[0]}p4`].flatMap((d) =>
        sh('wipefs', ['-i', '-O', 'TYPE', d]).split('\n').map((t) => t.trim()).filter(Boolean).map((t) => `${d.slice(l[0]!.length) || 'disk'} ${t}`));
      console.log(`wipefs after LVM then gpt: ${found.join(', ')}`);
      expect(found.sort()).toEqual(['disk PMBR', 'disk gpt', 'disk gpt', 'p2 ext4', 'p3 swap', 'p4 xfs']);
    },
  },
];

const extraLoops: string[] = [];

describe.skipIf(!canBoot() || !existsSync('/usr/bin/socat'))('boot install: the agent as /init installs disks in QEMU', () => {
  let dir: string | undefined;
  let pkg: PackageResult;
  let server: ImageServerInfo;
  let rsyncd: { port: number; stop(): Promise<void> } | undefined;
  let monitor: MonitorListener | undefined;

  beforeAll(async () => {
    ({ dir, pkg } = await buildTestPackage('console=ttyS0 panic=-1', false));
    server = await makeImageServer(join(dir, 'server'));
    rsyncd = await startRsyncd(server.dir);
    monitor = await listenMonitor();
  }, 300_000);
  afterAll(async () => {
    await rsyncd?.stop();
    await monitor?.close();
    removeTestDir(dir);
  });

  const boot = async (words: string, disks: string[], until: RegExp) =>
    await bootQemu({
      workDir: dir!,
      kernel: join(pkg.dir, 'kernel'),
      initrd: join(pkg.dir, 'initrd.img'),
      // The boot configs' own words, as a machine booted from them gets (rootfstype=ramfs).
      append: `console=ttyS0 panic=-1 ${INSTALLER_KERNEL_WORDS.join(' ')} IMAGESERVER=${SERVER_IP} HOSTNAME=node001 MONITOR_SERVER=${SERVER_IP} MONITOR_PORT=8181 ${words}`,
      disks,
      forwards: [
        { guestPort: 873, hostPort: rsyncd!.port },
        { guestPort: 8181, hostPort: monitor!.port },
      ],
      until,
      timeoutMs: 480_000,
    });

  for (const c of CASES) {
    it(`installs ${c.name}, monitor 0 .. 100 then 105, powers off`, async () => {
      copyFileSync(join(LAYOUTS, c.layout), join(server.scriptsDir, 'disks-layouts', 'node001.xml'));
      monitor!.lines.length = 0;
      const disks = c.disksMiB.map((mib, i) => {
        const p = join(dir!, `disk${i}.img`);
        if (c.reuseDisks && existsSync(p)) return p;
        rmSync(p, { force: true });
        writeFileSync(p, '');
        truncateSync(p, mib * 1024 * 1024);
        return p;
      });
      const r = await boot('POST_ACTION=shutdown', disks, /reboot: Power down|si-agent shell #|Kernel panic/);
      expect(r.log, `serial log:\n${tailOf(r.log, 80)}`).toMatch(/reboot: Power down/);
      expect(r.log).toMatch(/Laying the image down/);
      console.log(`boot install (${c.name}): /init after ${r.initSeconds} s, powered off after ${r.seconds} s`);
      const st = statuses(monitor!.lines);
      expect(st[0]).toBe(0);
      expect(st).toContain(100);
      expect(st.at(-1)).toBe(105);
      expect(st.indexOf(100)).toBeLessThan(st.lastIndexOf(105));
      const loops = disks.map((d) => sh('losetup', ['-fP', '--show', d]).trim());
      const mnt = join(dir!, 'mnt');
      const mounted: string[] = [];
      try {
        for (const l of loops) quiet('partprobe', [l]);
        c.check(loops, mnt, mounted);
        if (mounted.length) {
          expect(readFileSync(join(mnt, 'etc/systemimager/IMAGE_LAST_SYNCED_TO'), 'utf8').trim()).toBe(server.imageName);
          expect(readFileSync(join(mnt, 'etc/hostname'), 'utf8')).toBe('node001\n');
          expect(readFileSync(join(mnt, 'etc/shared-gc'), 'utf8')).toBe('compute\n');
          expect(existsSync(join(mnt, 'root/node001-only'))).toBe(true);
        }
      } finally {
        for (const m of mounted) quiet('umount', [m]);
        for (const l of [...extraLoops.splice(0), ...loops]) quiet('losetup', ['-d', l]);
      }
    }, 600_000);
  }

  it('a wrong IMAGENAME ends in the shellout with the error and status -1, not a kernel panic', async () => {
    monitor!.lines.length = 0;
    const disk = join(dir!, 'disk-fail.img');
    writeFileSync(disk, '');
    truncateSync(disk, 600 * 1024 * 1024);
    const r = await boot('IMAGENAME=no-such-image', [disk], /si-agent shell #|Kernel panic|reboot: /);
    expect(r.log, `serial log:\n${tailOf(r.log, 80)}`).toMatch(/si-agent shell #/);
    expect(r.log).not.toMatch(/Kernel panic/);
    expect(r.log).toMatch(/"no-such-image" is not an image on 10\.0\.2\.100; it offers: fixture-image/);
    expect(r.log).toMatch(/the install failed \(exit code 2\)/);
    expect(statuses(monitor!.lines).at(-1)).toBe(-1);
  }, 600_000);
});
