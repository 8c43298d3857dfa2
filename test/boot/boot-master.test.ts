// Run mode (SCRIPT_MODE): the agent runs a site's SystemImager 4.3 master with bash instead of installing natively.
// First, without root: the test masters in fixtures/masters are 4.3 masters (they parse, read mode sees their
// post-install action, each carries its hand edits). Then the boot tier (root, qemu-system-x86_64, socat, rsync, mdadm,
// lvm; TCG): the standard package boots with the disks on virtio-scsi (/dev/sda, /dev/sdb, as the masters name them),
// guestfwd sends rsync and the monitor to a fixture rsyncd and a listener on 127.0.0.1, and
// - gpt-raid1-lvm.master (no POST_ACTION on the command line) partitions both disks, builds RAID1 and LVM on it,
//   rsyncs the image with its own --bwlimit, applies the overrides, runs the post-install scripts, writes its marker
//   and powers off (monitor 105). This host's kernel may have no md or device-mapper: the test finds the root and home
//   LVs inside one mirror half from the md superblock's data offset and the LVM metadata, and mounts them read-only
//   through loop devices with an offset.
// - mke2fs-fails.master stops at its broken mke2fs: the agent's failure report names the master's line and command,
//   the monitor ends at -1, the console gives the shell.
// The agent traces each master command (`+ <file>:<line>: <command>`) into /tmp/si.log only, not the console: the masters
// keep that log as /a/root/si.log (a site edit), read back from the disk; a failure shows the log's last lines.
// The multicast and BitTorrent masters boot in boot-master-cast.test.ts.

import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, startRsyncd, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { INSTALLER_KERNEL_WORDS } from '../../agent/init/installer-kernel-words.ts';
import { mergeParams } from '../../agent/params/merge.js';
import { readScriptVariables } from '../../agent/params/script-vars.js';
import { listenMonitor, statuses, type MonitorListener } from '../system/lib/monitor-listener.ts';
import { buildTestPackage, canBoot, removeTestDir } from './package-fixture.ts';
import { bootQemu, SERVER_IP, tailOf } from './qemu.ts';

const MASTERS = resolve(import.meta.dirname, '../../fixtures/masters');
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const quiet = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' });
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const masterText = (file: string) => readFileSync(join(MASTERS, file), 'utf8');
/** The 1-based line of the first line of a test master that matches re. */
const lineOf = (file: string, re: RegExp) => masterText(file).split('\n').findIndex((l) => re.test(l)) + 1;
/** The trace line the agent logs (debug, /tmp/si.log) for a master's command: `+ <file>:<line>: <command as bash -x prints it>`. */
const traced = (file: string, line: number, command: string) => new RegExp(`\\+ ${esc(file)}:${line}: ${esc(command)}`);

describe('fixtures/masters: the test masters are SystemImager 4.3 masters', () => {
  const rows: Array<{ file: string; action: string; rsyncImage: boolean }> = [
    { file: 'gpt-raid1-lvm.master', action: 'shutdown', rsyncImage: true },
    { file: 'msdos-autodetect-multicast.master', action: 'beep', rsyncImage: false },
    { file: 'gpt-bittorrent.master', action: 'reboot', rsyncImage: false },
    { file: 'mke2fs-fails.master', action: 'shutdown', rsyncImage: true },
    { file: 'plain-reboot.master', action: 'reboot', rsyncImage: true },
    { file: 'kexec.master', action: 'kexec', rsyncImage: true },
  ];
  it('fixtures/masters holds exactly these', () => {
    expect(readdirSync(MASTERS).sort()).toEqual(rows.map((r) => r.file).sort());
  });
  for (const row of rows) {
    it(`${row.file}: parses under bash and dash, sources variables.txt then the functions, read mode sees POST_ACTION ${row.action}, hand edits`, () => {
      const text = masterText(row.file);
      for (const shell of ['bash', 'dash']) {
        if (spawnSync(shell, ['-c', 'true']).status !== 0) continue;
        const r = spawnSync(shell, ['-n', join(MASTERS, row.file)], { encoding: 'utf8' });
        expect(r.status, `${shell} -n ${row.file}: ${r.stderr}`).toBe(0);
      }
      const commands = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
      expect(commands.slice(0, 2)).toEqual(['. /tmp/variables.txt', '. /etc/init.d/functions']);
      const r = readScriptVariables(text, row.file, mergeParams([[]]));
      expect(r.master).toBe(true);
      expect(r.assignments.find((a) => a.name === 'POST_ACTION')?.value).toBe(row.action);
      expect(text).toMatch(/^# site: /m);
      expect(text).toMatch(/^echo .*> \/a\/root\/master-edit$/m);
      if (row.rsyncImage) expect(text).toMatch(/^rsync -aHS\$\{VERBOSE_OPT\} --bwlimit=\d+ .*\$\{IMAGESERVER\}::\$\{IMAGENAME\}\/ \/a\/ \|\| shellout$/m);
    });
  }
});

describe.skipIf(!canBoot() || !existsSync('/usr/bin/socat'))('boot, run mode over rsync: the agent runs the site masters (QEMU, SCSI disks)', () => {
  let dir: string | undefined;
  let pkg: PackageResult;
  let server: ImageServerInfo;
  let rsyncd: { port: number; stop(): Promise<void> } | undefined;
  let monitor: MonitorListener | undefined;
  const loops: string[] = [];
  const mounts: string[] = [];

  beforeAll(async () => {
    ({ dir, pkg } = await buildTestPackage('console=ttyS0 panic=-1', false));
    server = await makeImageServer(join(dir, 'server'));
    for (const f of readdirSync(MASTERS)) copyFileSync(join(MASTERS, f), join(server.scriptsDir, f));
    rsyncd = await startRsyncd(server.dir);
    monitor = await listenMonitor();
  }, 300_000);
  afterAll(async () => {
    release();
    await rsyncd?.stop();
    await monitor?.close();
    removeTestDir(dir);
  });

  const release = () => {
    for (const m of mounts.splice(0)) quiet('umount', [m]);
    for (const l of loops.splice(0).reverse()) quiet('losetup', ['-d', l]);
  };
  const loop = (args: string[]) => {
    const l = sh('losetup', ['-f', '--show', ...args]).trim();
    loops.push(l);
    return l;
  };
  const mountRo = (dev: string, name: string) => {
    const mp = join(dir!, name);
    mkdirSync(mp, { recursive: true });
    sh('mount', ['-o', 'ro', dev, mp]);
    mounts.unshift(mp);
    return mp;
  };
  const disks = (names: string[], mib: number) =>
    names.map((n) => {
      const p = join(dir!, n);
      rmSync(p, { force: true });
      writeFileSync(p, '');
      truncateSync(p, mib * 1024 * 1024);
      return p;
    });
  const boot = async (words: string, diskImages: string[], until: RegExp) =>
    await bootQemu({
      workDir: dir!,
      kernel: join(pkg.dir, 'kernel'),
      initrd: join(pkg.dir, 'initrd.img'),
      append: `console=ttyS0 panic=-1 ${INSTALLER_KERNEL_WORDS.join(' ')} IMAGESERVER=${SERVER_IP} HOSTNAME=node001 MONITOR_SERVER=${SERVER_IP} MONITOR_PORT=8181 ${words}`,
      disks: diskImages,
      diskInterface: 'scsi',
      forwards: [
        { guestPort: 873, hostPort: rsyncd!.port },
        { guestPort: 8181, hostPort: monitor!.port },
      ],
      until,
      timeoutMs: 480_000,
    });

  /** One mirror half of a RAID1 member: a read-only loop device at the md superblock's data offset. */
  const mirrorHalf = (member: string) => {
    const ex = sh('mdadm', ['--examine', member]);
    expect(ex).toMatch(/Raid Level : raid1/);
    expect(ex).toMatch(/Raid Devices : 2/);
    const offset = Number(/Data Offset : (\d+) sectors/.exec(ex)![1]) * 512;
    return loop(['-r', '-o', String(offset), member]);
  };
  /** A logical volume of vg on the PV pv (one segment), as a read-only loop device: offset and size from the LVM metadata. */
  const logicalVolume = (pv: string, vg: string, lv: string) => {
    const b = ['--noheadings', '--units', 'b', '--nosuffix'];
    const peStart = Number(sh('pvs', [...b, '-o', 'pe_start', pv]).trim());
    const extent = Number(sh('vgs', [...b, '-o', 'vg_extent_size', vg]).trim());
    const range = /:(\d+)-(\d+)\s*$/.exec(sh('lvs', ['--noheadings', '--segments', '-o', 'seg_pe_ranges', `${vg}/${lv}`]).trim())!;
    const offset = peStart + Number(range[1]) * extent;
    const size = (Number(range[2]) - Number(range[1]) + 1) * extent;
    return loop(['-r', '-o', String(offset), '--sizelimit', String(size), pv]);
  };
  const blkid = (dev: string, tag: string) => spawnSync('blkid', ['-o', 'value', '-s', tag, dev], { encoding: 'utf8' }).stdout.trim();

  it('gpt-raid1-lvm.master: two disks, RAID1 + LVM, image by rsync with its --bwlimit, overrides, post-install, marker, then 105 and power-off', async () => {
    const M = 'gpt-raid1-lvm.master';
    monitor!.lines.length = 0;
    const images = disks(['raid-a.img', 'raid-b.img'], 600);
    // No POST_ACTION and no SCRIPT_MODE: auto runs the master, and the master's `shutdown` powers off.
    const r = await boot('SCRIPTNAME=gpt-raid1-lvm MONITOR_CONSOLE=yes', images, /reboot: Power down|reboot: Restarting|si-agent shell #|Kernel panic/);
    const why = `serial log:\n${tailOf(r.log, 100)}`;
    console.log(`boot master ${M}: /init after ${r.initSeconds} s, powered off after ${r.seconds} s`);
    expect(r.log, why).toMatch(/reboot: Power down/);
    expect(r.log, why).toMatch(/script mode run: SCRIPT_MODE=auto: gpt-raid1-lvm\.master sources \/etc\/init\.d\/functions/);
    expect(r.log, why).toMatch(/Creating \/dev\/md0 \(raid1 over \/dev\/sda2 \/dev\/sdb2\)/);
    expect(r.log, why).toMatch(/no override directory gpt-raid1-lvm \(that may be fine\)/);
    expect(r.log, why).toMatch(/gpt-raid1-lvm\.master ended \(exit status 0\)/);
    expect(r.log, why).not.toMatch(/Kernel panic|si-agent shell #/);
    // Monitor: start, the master's 101 and 100, then the action the master asked for; never -1.
    const st = statuses(monitor!.lines);
    console.log(`boot master ${M}: monitor statuses ${st.join(' ')}`);
    expect(st[0], monitor!.lines.join('\n')).toBe(0);
    expect(st).toContain(101);
    expect(st).toContain(100);
    expect(st.at(-1)).toBe(105);
    expect(st.indexOf(101)).toBeLessThan(st.indexOf(100));
    expect(st).not.toContain(-1);
    const rlog = readFileSync(server.logFile, 'utf8');
    expect(rlog).toMatch(new RegExp(`rsync on ${esc(server.imageName)}/ from`));
    expect(rlog).toMatch(/rsync on scripts\/imaging_complete_10\.0\.2\.15 from/);

    try {
      const [a, b] = images.map((img) => loop(['-P', img]));
      for (const l of [a!, b!]) quiet('partprobe', [l]);
      // /boot on sda1, swap on sdb1, RAID1 members sda2 + sdb2 of one array.
      expect(blkid(`${a}p1`, 'LABEL')).toBe('boot');
      expect(blkid(`${a}p1`, 'TYPE')).toBe('ext4');
      expect(blkid(`${b}p1`, 'TYPE')).toBe('swap');
      expect(blkid(`${b}p1`, 'LABEL')).toBe('swap0');
      expect(sh('blkid', ['-o', 'value', '-s', 'PTTYPE', a!]).trim()).toBe('gpt');
      const uuid = (m: string) => /Array UUID : (\S+)/.exec(sh('mdadm', ['--examine', m]))![1];
      expect(uuid(`${a}p2`)).toBe(uuid(`${b}p2`));
      // Inside one mirror half: the PV of vg_master with LVs root and home.
      const pv = mirrorHalf(`${a}p2`);
      expect(sh('pvs', ['--noheadings', '-o', 'vg_name', pv]).trim()).toBe('vg_master');
      expect(sh('lvs', ['--noheadings', '-o', 'lv_name', 'vg_master']).split('\n').map((x) => x.trim()).filter(Boolean).sort()).toEqual(['home', 'root']);
      const rootLv = logicalVolume(pv, 'vg_master', 'root');
      const homeLv = logicalVolume(pv, 'vg_master', 'home');
      expect(blkid(rootLv, 'LABEL')).toBe('root');
      expect(blkid(homeLv, 'LABEL')).toBe('home');
      const root = mountRo(rootLv, 'root');
      const home = mountRo(homeLv, 'home');
      // The image, by rsync, with the SPEC 7 excludes.
      expect(readFileSync(join(root, 'etc/systemimager/IMAGE_LAST_SYNCED_TO'), 'utf8').trim()).toBe(server.imageName);
      expect(readFileSync(join(root, 'var/lib/big.bin')).equals(readFileSync(join(server.imageDir, 'var/lib/big.bin')))).toBe(true);
      expect(existsSync(join(root, 'proc/cpuinfo'))).toBe(false);
      // /home was its own LV: the image's home/user landed there, not on root.
      expect(readFileSync(join(home, 'user/notes.txt'), 'utf8')).toBe('owned by 4242:4343\n');
      expect(readdirSync(join(root, 'home'))).toEqual([]);
      // The master's fstab, its hand-edited marker, the overrides in order (global, group, host), the post-install scripts.
      expect(readFileSync(join(root, 'etc/fstab'), 'utf8')).toMatch(/^LABEL=home\s+\/home\s+ext4\s+defaults,nodev/m);
      expect(readFileSync(join(root, 'root/master-edit'), 'utf8')).toBe('gpt-raid1-lvm hand-edited\n');
      for (const o of server.overrides) expect(existsSync(join(root, `etc/${o}-marker`)), o).toBe(true);
      expect(readFileSync(join(root, 'etc/shared-gc'), 'utf8')).toBe('compute\n');
      // (etc/motd is not checked: the overrides' motd files have the same size and mtime, so rsync's quick check skips them.)
      expect(existsSync(join(root, 'root/node001-only'))).toBe(true);
      expect(readFileSync(join(root, 'root/post-install-order'), 'utf8')).toBe('all\nimage\ngroup\nhost\n');
      const ran = readFileSync(join(root, 'root/post-install-ran'), 'utf8');
      expect(ran).toMatch(/^chrooted=yes$/m);
      expect(ran).toMatch(/^HOSTNAME=node001$/m);
      expect(ran).toMatch(new RegExp(`^IMAGENAME=${esc(server.imageName)}$`, 'm'));
      expect(existsSync(join(root, 'tmp/post-install'))).toBe(false);
      // MONITOR_CONSOLE=yes: the master copied the console log, which holds its own output.
      expect(readFileSync(join(root, 'root/si_monitor.log'), 'utf8')).toMatch(/Creating \/dev\/md0 \(raid1 over \/dev\/sda2 \/dev\/sdb2\)/);
      // The install log the master kept (a site edit) traces its commands line by line: its RAID, LVM, the hand-edited rsync.
      const log = readFileSync(join(root, 'root/si.log'), 'utf8');
      expect(log).toMatch(traced(M, lineOf(M, /^yes \| mdadm --create/), 'mdadm --create /dev/md0 --auto yes --level raid1 --raid-devices 2 /dev/sda2 /dev/sdb2'));
      expect(log).toMatch(traced(M, lineOf(M, /^vgcreate /), 'vgcreate -M2 -l 0 -p 0 -s 4096K vg_master /dev/md0'));
      expect(log).toMatch(traced(M, lineOf(M, /--bwlimit=/), `rsync -aHS --bwlimit=20000 --exclude=lost+found/ '--exclude=/proc/*' --numeric-ids ${SERVER_IP}::${server.imageName}/ /a/`));
      expect(log).toMatch(traced(M, lineOf(M, /> \/a\/root\/master-edit$/), "echo 'gpt-raid1-lvm hand-edited'"));
      expect(log).toMatch(traced(M, lineOf(M, /^run_post_install_scripts$/), 'run_post_install_scripts'));
    } finally {
      release();
    }
  }, 600_000);

  it('mke2fs-fails.master: the broken mke2fs ends in the agent failure report (master line and command), status -1, the shell', async () => {
    const M = 'mke2fs-fails.master';
    monitor!.lines.length = 0;
    const images = disks(['fail.img'], 300);
    const r = await boot('SCRIPTNAME=mke2fs-fails si.script-mode=run', images, /si-agent shell #|reboot: |Kernel panic/);
    const why = `serial log:\n${tailOf(r.log, 100)}`;
    console.log(`boot master ${M}: /init after ${r.initSeconds} s, shell after ${r.seconds} s`);
    expect(r.log, why).toMatch(/si-agent shell #/);
    expect(r.log, why).not.toMatch(/Kernel panic|reboot: /);
    const line = lineOf(M, /^mke2fs -q -t ext4 -I 100 /);
    expect(r.log, why).toMatch(/mke2fs: invalid inode size 100/);
    // The report names the master's file:line and the command that failed; the log's last lines on the console show
    // the trace: the command, then shellout from the same line, and nothing of the master after it.
    const failure = `the autoinstall script failed at ${M}:${line}: mke2fs -q -t ext4 -I 100 /dev/sda2 (exit status 1, then shellout)`;
    expect(r.log, why).toMatch(new RegExp(`FAILED after [\\d.]+s: ${esc(failure)}`));
    expect(r.log, why).toMatch(new RegExp(`INSTALL FAILED in step "master"\\s+${esc(failure)}`));
    expect(r.log, why).toMatch(traced(M, line, 'mke2fs -q -t ext4 -I 100 /dev/sda2'));
    expect(r.log, why).toMatch(traced(M, line, 'shellout'));
    expect(r.log).not.toMatch(new RegExp(`\\+ ${esc(M)}:(${line + 1}|${line + 2}|${line + 3}|${line + 4}):`));
    const st = statuses(monitor!.lines);
    console.log(`boot master ${M}: monitor statuses ${st.join(' ')}`);
    expect(st[0], monitor!.lines.join('\n')).toBe(0);
    expect(st.at(-1)).toBe(-1);
    expect(st).not.toContain(100);
    try {
      const l = loop(['-P', images[0]!]);
      quiet('partprobe', [l]);
      expect(blkid(`${l}p1`, 'TYPE')).toBe('swap');
      expect(blkid(`${l}p2`, 'TYPE')).toBe('');
    } finally {
      release();
    }
  }, 600_000);
});
