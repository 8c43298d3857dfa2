// Boot tier (root, QEMU with TCG only; needs qemu-system-x86_64, socat, rsync, debootstrap or its cache, dosfstools
// and mtools): the whole `si-agent stage` story. The agent installs the Debian image (fixtures/debian-image, made able
// to stage itself by fixtures/stage) onto a loop device on this host, as a machine to reinstall (an install under TCG
// would add about 4 minutes; the reinstall below is the one under QEMU). Then, in QEMU:
//  1. the installed disk boots with a USB stick (vfat, labelled) holding si-agent as a single executable; a first-boot
//     unit runs `si-agent stage --server 10.0.2.100 --configure-from ens3 --yes` and reboots: the stage output is on
//     the console, and the disk then holds the grub.d entry, grub.cfg with it and grubenv next_entry;
//  2. the disk boots again: GRUB starts the installer once, which reads local.cfg from its initrd (the appended cpio),
//     from LAST_ROOT (the old root, by UUID) and from the USB stick (removable vfat: this host's kernel cannot mount
//     vfat, so this is where that case is proven), reinstalls with the local.cfg's static address and host name, and
//     powers off;
//  3. the disk boots to the reinstalled system's login prompt with that host name and address; the unit then runs
//     `stage --kexec` and the installer's kernel starts in the same QEMU (no firmware reboot): the test stops there.
// About 5 minutes on a 2-core host (install on the host 5 s; boot, stage and reboot 1 min; reinstall 2.5 min; boot,
// stage --kexec and the installer's start 1.5 min). SI_BOOT_LOGS=DIR keeps the serial logs.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, startRsyncd, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import { publishDebianImage, type PublishResult, type TestHost } from '../../fixtures/debian-image/publish-debian-image.ts';
import { makeQemuLikeEnv, makeStick, prepareStageImage, putOnStick } from '../../fixtures/stage/stage-machine.ts';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { buildTestPackage, canBoot, PROJECT_DIR, removeTestDir } from './package-fixture.ts';
import { bootQemu, tailOf, type QemuBoot, type QemuOutcome } from './qemu.ts';

const CACHED_ROOT = join(import.meta.dirname, '../../.cache/debootstrap/bookworm-grub/.si-complete');
function skipReason(): string | null {
  if (!canBoot()) return 'needs root and qemu-system-x86_64';
  for (const p of ['/usr/bin/socat', '/usr/bin/rsync', '/usr/sbin/mkfs.vfat', '/usr/bin/mcopy']) if (!existsSync(p)) return `needs ${p}`;
  if (!existsSync('/usr/sbin/debootstrap') && !existsSync(CACHED_ROOT)) return 'needs debootstrap (or the cached Debian root)';
  return null;
}
const reason = skipReason();
if (reason) console.warn(`stage-reinstall skipped: ${reason}`);

const HOST: TestHost = { name: 'node111', ip: '10.0.2.61', firmware: 'bios' };
const AGENT = join(PROJECT_DIR, 'dist/si-agent.cjs');
const STEP_TIMEOUT = 900_000;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const sh = (cmd: string, args: string[], env?: NodeJS.ProcessEnv) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...(env ? { env } : {}) });
const quiet = (cmd: string, args: string[]) => {
  try {
    sh(cmd, args);
  } catch {
    /* best-effort cleanup */
  }
};
const failLog = (r: QemuOutcome, lines = 80) => `serial log (last ${lines} lines):\n${tailOf(r.log, lines)}`;
const keepLog = (name: string, r: QemuOutcome) => {
  if (process.env.SI_BOOT_LOGS) writeFileSync(join(process.env.SI_BOOT_LOGS, `stage-${name}.log`), r.log);
};

/** Mounts the disk image's root (partition 2) read-only without journal replay, runs fn, always cleans up. */
function onDiskRoot<T>(img: string, dir: string, fn: (mnt: string) => T): T {
  const loop = sh('losetup', ['-fPr', '--show', img]).trim();
  const mnt = join(dir, `mnt-${Date.now()}`);
  mkdirSync(mnt);
  try {
    quiet('partprobe', [loop]);
    sh('mount', ['-o', 'ro,noload', `${loop}p2`, mnt]);
    try {
      return fn(mnt);
    } finally {
      quiet('umount', [mnt]);
    }
  } finally {
    rmdirSync(mnt);
    quiet('losetup', ['-d', loop]);
  }
}

describe.skipIf(reason !== null)('stage: an installed machine reinstalls itself (QEMU, TCG)', () => {
  let dir: string | undefined;
  let pkg: PackageResult;
  let server: ImageServerInfo;
  let image: PublishResult;
  let rsyncd: { port: number; stop(): Promise<void> } | undefined;
  let disk: string;
  let stick: string;
  const times: string[] = [];

  beforeAll(async () => {
    ({ dir, pkg } = await buildTestPackage('console=ttyS0 panic=-1', false));
    server = await makeImageServer(join(dir, 'server'));
    image = await publishDebianImage(server, [HOST]);
    prepareStageImage(image.imageDir);
    // The boot module serves the package just built: what stage fetches is the real installer.
    execFileSync('cp', [join(pkg.dir, 'kernel'), join(pkg.dir, 'initrd.img'), join(server.bootDir, 'x86_64/standard/')]);
    rsyncd = await startRsyncd(server.dir);
    // The machine to reinstall: installed by the agent onto a loop device here, with QEMU's NIC faked for naming.
    const env = join(dir, 'env');
    makeQemuLikeEnv(env);
    disk = join(dir, 'disk.img');
    sh('truncate', ['-s', '2048M', disk]);
    const loop = sh('losetup', ['-fP', '--show', disk]).trim();
    try {
      const t0 = Date.now();
      sh(process.execPath, [AGENT, 'install', '--disk', loop, '--local-cfg', '/dev/null', '--rsync-port', String(rsyncd.port), '--workdir', join(dir, 'work'), '--log', join(dir, 'install.log'),
        '--cmdline', `IMAGESERVER=127.0.0.1 HOSTNAME=${HOST.name} IP_ASSIGNMENT=static IPADDR=${HOST.ip} NETMASK=255.255.255.0 GATEWAY=10.0.2.2 DEVICE=eth0 BOOT_MODE=bios`],
        { ...process.env, SI_ROOT: env, SI_TMP: join(dir, 'work'), SI_LOG: join(dir, 'install.log') });
      times.push(`host-side install ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    } finally {
      quiet('losetup', ['-d', loop]);
    }
    stick = join(dir, 'stick.img');
    writeFileSync(join(dir, 'mode'), 'reboot\n');
    writeFileSync(join(dir, 'stick-local.cfg'), '# on the USB stick: read last, so its values win over the others\nETHER_SLEEP=0\n');
    makeStick(stick, 256, { 'si-agent': pkg.sea.path, mode: join(dir, 'mode'), 'local.cfg': join(dir, 'stick-local.cfg') });
  }, 1_500_000);

  afterAll(async () => {
    await rsyncd?.stop();
    if (times.length) console.log(`stage-reinstall times:\n  ${times.join('\n  ')}`);
    removeTestDir(dir);
  });

  /** Boots the disk (firmware, then GRUB on it) with the USB stick attached. */
  const boot = async (until: RegExp, extra: Partial<QemuBoot> = {}) => {
    const b: QemuBoot = {
      workDir: dir!, disks: [disk], bootOrder: 'c', forwards: [{ guestPort: 873, hostPort: rsyncd!.port }], until, timeoutMs: STEP_TIMEOUT, ...extra,
    };
    // The stick is a USB mass-storage device on an xHCI controller: removable, as a real one is.
    return await bootQemu({ ...b, extraArgs: ['-device', 'qemu-xhci,id=xhci', '-drive', `if=none,id=stick,format=raw,file=${stick}`, '-device', 'usb-storage,bus=xhci.0,drive=stick,removable=on'] });
  };

  it('the installed machine stages the installer with stage --configure-from and reboots by itself', async () => {
    const r = await boot(/reboot: Restarting system|Kernel panic|si-stage-test: stage exit [1-9]/, { marks: { login: new RegExp(`${HOST.name} login:`) } });
    keepLog('1-stage', r);
    expect(r.log, failLog(r)).toMatch(/reboot: Restarting system/);
    expect(r.log).toMatch(/si-stage-test: mode=reboot nic=ens3/);
    expect(r.log).toMatch(/kernel {5}sha256 [0-9a-f]{64}/);
    expect(r.log).toMatch(/added \/etc\/grub\.d\/42_systemimager/);
    onDiskRoot(disk, dir!, (mnt) => {
      const cfg = readFileSync(join(mnt, 'boot/grub/grub.cfg'), 'utf8');
      expect(cfg).toMatch(/menuentry 'SystemImager autoinstall' --id systemimager-autoinstall/);
      const uuid = /LAST_ROOT=UUID=(\S+)/.exec(cfg)?.[1];
      expect(uuid, 'LAST_ROOT names the root filesystem by UUID').toBeDefined();
      expect(cfg).toMatch(/linux\t\/boot\/kernel\.systemimager console=ttyS0 rootfstype=ramfs IMAGESERVER=10\.0\.2\.100 LAST_ROOT=UUID=\S+ panic=-1 POST_ACTION=shutdown/);
      expect(readFileSync(join(mnt, 'boot/grub/grubenv'), 'latin1')).toMatch(/^next_entry=systemimager-autoinstall$/m);
      const local = readFileSync(join(mnt, 'local.cfg'), 'utf8');
      expect(local).toMatch(new RegExp(`^HOSTNAME=${HOST.name}$`, 'm'));
      expect(local).toMatch(new RegExp(`^IPADDR=${esc(HOST.ip)}$`, 'm'));
      expect(local).toMatch(/^DEVICE=52:54:00:12:34:56$/m);
    });
    times.push(`boot to login ${r.marks.login?.toFixed(0) ?? '?'} s, stage and reboot at ${r.seconds.toFixed(0)} s`);
  }, STEP_TIMEOUT);

  it('GRUB starts the installer once; it reads local.cfg from its initrd, LAST_ROOT and the vfat stick, reinstalls and powers off', async () => {
    const r = await boot(/reboot: Power down|reboot: Restarting system|si-agent shell #|Kernel panic/);
    keepLog('2-reinstall', r);
    expect(r.log, failLog(r)).toMatch(/reboot: Power down/);
    expect(r.log).toMatch(/read local\.cfg \/local\.cfg/);
    expect(r.log).toMatch(/read local\.cfg LAST_ROOT:\/dev\/vda2/);
    expect(r.log).toMatch(/local\.cfg found on removable media \/dev\/sd[a-z]/);
    expect(r.log).toMatch(/DEVICE 52:54:00:12:34:56 \(local\.cfg:\S+:\d+\) is eth0 here \(matched by MAC\)/);
    expect(r.log).toMatch(new RegExp(`static network: ${esc(HOST.ip)}/24 on eth0`));
    onDiskRoot(disk, dir!, (mnt) => {
      expect(readFileSync(join(mnt, 'etc/hostname'), 'utf8')).toBe(`${HOST.name}\n`);
      expect(readFileSync(join(mnt, 'etc/network/interfaces'), 'utf8')).toMatch(new RegExp(`iface ens3 inet static\\n\\s+address ${esc(HOST.ip)}`));
      expect(existsSync(join(mnt, 'boot/kernel.systemimager')), 'a fresh disk: the staged files are gone').toBe(false);
      expect(readFileSync(join(mnt, 'etc/systemimager/IMAGE_LAST_SYNCED_TO'), 'utf8')).toBe(`${image.imageName}\n`);
    });
    times.push(`firmware to installer power-off (reinstall) ${r.seconds.toFixed(0)} s`);
  }, STEP_TIMEOUT);

  it('the disk boots to the reinstalled login prompt; stage --kexec then reaches the installer without a firmware reboot', async () => {
    writeFileSync(join(dir!, 'mode'), 'kexec\n');
    putOnStick(stick, 'mode', join(dir!, 'mode'));
    const r = await boot(/si-agent \S+ init|read local\.cfg \/local\.cfg|Kernel panic|reboot: /, { marks: { login: new RegExp(`${HOST.name} login:`) } });
    keepLog('3-kexec', r);
    expect(r.log, failLog(r)).toMatch(new RegExp(`${HOST.name} login:`));
    expect(r.log).toMatch(new RegExp(`si-fixture-report: hostname=${HOST.name} `));
    expect(r.log).toMatch(new RegExp(`si-fixture-report: addr ens3 ${esc(HOST.ip)}/24`));
    expect(r.log).toMatch(/kexec into the installer: console=ttyS0 rootfstype=ramfs IMAGESERVER=10\.0\.2\.100 LAST_ROOT=UUID=/);
    expect(r.exitCode, 'QEMU still running: no firmware reboot').toBeNull();
    expect(r.log).not.toMatch(/reboot: (Restarting system|Power down)/);
    const kernels = [...r.log.matchAll(/Linux version (\S+)/g)].map((m) => m[1]);
    expect(kernels, 'the installed kernel, then the installer kernel in the same QEMU').toHaveLength(2);
    expect(kernels[0]).toBe(image.kernelVersion);
    expect(r.log.lastIndexOf('Linux version')).toBeGreaterThan(r.log.search(new RegExp(`${HOST.name} login:`)));
    times.push(`reinstalled login: at ${r.marks.login?.toFixed(0) ?? '?'} s, installer running after kexec at ${r.seconds.toFixed(0)} s`);
  }, STEP_TIMEOUT);
});
