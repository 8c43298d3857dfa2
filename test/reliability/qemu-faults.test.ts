// Reliability, QEMU tier (needs root, qemu-system-x86_64, socat, rsync; TCG, no KVM): faults only a whole machine can
// have, injected into real installs by the agent as /init. Four boots of one package, in order, on the same two disks:
//  1. the install worker is killed (SIGKILL, by a pre-install script gated on SI_FAULT): PID 1 sends status -1 to the
//     monitor itself, shows the shellout, the kernel does not panic;
//  2. layout A (RAID1 over both disks, LVM on the array) and QEMU killed as soon as the array is up: power loss in the
//     middle of partitioning;
//  3. a fresh boot with layout B (LVM on disk 0, plain ext4 on disk 1), after a pre-install script assembled A's
//     half-made array (the agent stops it), gets through the half-written disks and is killed in the middle of the
//     image copy: power loss again;
//  4. a fresh boot with layout C (no RAID, no LVM) installs the whole image over that: it succeeds, and wipefs finds
//     only what layout C made (no md superblock, no LVM label left of A and B).
// The host reads the disks through read-only loop devices (its kernel may have no md or device-mapper).

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, startRsyncd, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { listenMonitor, statuses, type MonitorListener } from '../system/lib/monitor-listener.ts';
import { buildTestPackage, canBoot, removeTestDir } from '../boot/package-fixture.ts';
import { bootQemu, SERVER_IP, tailOf, type QemuOutcome } from '../boot/qemu.ts';
import { LAYOUT_A_RAID_LVM, LAYOUT_B_LVM_PLAIN, LAYOUT_C_PLAIN } from './fault-layouts.ts';

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const quiet = (cmd: string, args: string[]) => {
  try {
    sh(cmd, args);
  } catch {
    /* best-effort cleanup */
  }
};
const failLog = (r: QemuOutcome, n = 80) => `serial log (last ${n} lines):\n${tailOf(r.log, n)}`;
const DISK_MIB = 700;
/** Extra image data so the copy lasts long enough (several seconds under TCG) to be cut in the middle. */
const BULK_FILES = 12;
const BULK_MIB = 8;

const KILL_WORKER = `#!/bin/sh
# Reliability test only: with SI_FAULT=kill-worker the install worker (this script's parent) is killed outright.
[ "$SI_FAULT" = kill-worker ] || exit 0
echo "fault: SIGKILL to the install worker, pid $PPID"
kill -KILL "$PPID"
sleep 5
`;

const ASSEMBLE_STALE = `#!/bin/sh
# Reliability test only: with SI_FAULT=assemble-stale the array an earlier install left is assembled (and its LVM
# volumes activated, if it got that far) before the agent looks at the disks, as udev or an operator might.
[ "$SI_FAULT" = assemble-stale ] || exit 0
modprobe md_mod; modprobe raid1; modprobe dm_mod
mdadm --assemble --run /dev/md9 /dev/vda2 /dev/vdb2
lvm vgchange -ay || true
`;

/** Every signature wipefs finds on each device of the disk images, as `pN TYPE` lines (the disk itself as `disk`). */
function signatures(images: string[]): string[][] {
  return images.map((img) => {
    const loop = sh('losetup', ['-fPr', '--show', img]).trim();
    try {
      quiet('partprobe', [loop]);
      const devs = [loop, ...sh('lsblk', ['-lnpo', 'NAME', loop]).split('\n').map((s) => s.trim()).filter((s) => s && s !== loop)];
      return devs.flatMap((d) => sh('wipefs', ['-i', '-O', 'TYPE', d]).split('\n').map((s) => s.trim()).filter(Boolean).map((t) => `${d === loop ? 'disk' : d.slice(loop.length)} ${t}`));
    } finally {
      quiet('losetup', ['-d', loop]);
    }
  });
}

describe.skipIf(!canBoot() || !existsSync('/usr/bin/socat'))('reliability in QEMU: worker crash, power loss, reinstall over old layouts', () => {
  let dir: string | undefined;
  let pkg: PackageResult;
  let server: ImageServerInfo;
  let rsyncd: { port: number; stop(): Promise<void> } | undefined;
  let monitor: MonitorListener | undefined;
  let disks: string[] = [];
  const bulk: Record<string, string> = {};
  const before: Record<string, string[][]> = {};

  beforeAll(async () => {
    ({ dir, pkg } = await buildTestPackage('console=ttyS0 panic=-1', false));
    server = await makeImageServer(join(dir, 'server'));
    mkdirSync(join(server.imageDir, 'srv/bulk'), { recursive: true });
    for (let i = 0; i < BULK_FILES; i++) {
      const data = randomBytes(BULK_MIB * 1024 * 1024);
      writeFileSync(join(server.imageDir, 'srv/bulk', `part${i}.bin`), data);
      bulk[`part${i}.bin`] = createHash('sha256').update(data).digest('hex');
    }
    writeFileSync(join(server.scriptsDir, 'pre-install', '05all.fault-kill-worker'), KILL_WORKER, { mode: 0o755 });
    writeFileSync(join(server.scriptsDir, 'pre-install', '06all.fault-assemble-stale'), ASSEMBLE_STALE, { mode: 0o755 });
    rsyncd = await startRsyncd(server.dir);
    monitor = await listenMonitor();
    disks = [0, 1].map((i) => {
      const p = join(dir!, `disk${i}.img`);
      writeFileSync(p, '');
      truncateSync(p, DISK_MIB * 1024 * 1024);
      return p;
    });
  }, 300_000);
  afterAll(async () => {
    await rsyncd?.stop();
    await monitor?.close();
    removeTestDir(dir);
  });

  const boot = async (layout: string, words: string, until: RegExp, timeoutMs = 300_000) => {
    writeFileSync(join(server.scriptsDir, 'disks-layouts', 'node001.xml'), layout);
    monitor!.lines.length = 0;
    return await bootQemu({
      workDir: dir!,
      kernel: join(pkg.dir, 'kernel'),
      initrd: join(pkg.dir, 'initrd.img'),
      append: `console=ttyS0 panic=-1 IMAGESERVER=${SERVER_IP} HOSTNAME=node001 MONITOR_SERVER=${SERVER_IP} MONITOR_PORT=8181 ${words}`,
      disks,
      forwards: [
        { guestPort: 873, hostPort: rsyncd!.port },
        { guestPort: 8181, hostPort: monitor!.port },
      ],
      until,
      timeoutMs,
    });
  };

  it('the worker killed by SIGKILL: PID 1 sends status -1 itself and gives the shellout; no kernel panic', async () => {
    const r = await boot(LAYOUT_C_PLAIN, 'SI_FAULT=kill-worker', /si-agent shell #|Kernel panic|reboot: /);
    expect(r.log, failLog(r)).toMatch(/si-agent shell #/);
    expect(r.log).toMatch(/pre-install script 05all\.fault-kill-worker/);
    expect(r.log).not.toMatch(/Kernel panic|Attempted to kill init/);
    expect(r.log).toMatch(/si-agent: the install worker died from SIGKILL \(exit code 137\)/);
    expect(r.exitCode, 'QEMU still running at the shell').toBeNull();
    expect(r.log, failLog(r)).toMatch(/the install worker died from SIGKILL: status -1 sent to the monitor 10\.0\.2\.100:8181: /);
    // The worker had sent 0 (started); the -1 after it came from PID 1, with the worker's identity fields.
    const st = statuses(monitor!.lines);
    expect(st[0]).toBe(0);
    expect(st.at(-1)).toBe(-1);
    const last = monitor!.lines.at(-1)!;
    expect(r.log, 'the line PID 1 says it sent is the one the monitor got').toContain(`status -1 sent to the monitor 10.0.2.100:8181: ${last}`);
    expect(last).toMatch(/^mac=52\.54\.00\.12\.34\.56:ip=10\.0\.2\.15:host=node001:.*:status=-1:speed=0$/);
    console.log(`worker crash: PID 1 sent ${last} (${r.seconds.toFixed(0)} s)`);
    // Nothing was written: the crash came before the disk steps.
    expect(signatures(disks).flat()).toEqual([]);
  }, 360_000);

  it('power loss in the middle of partitioning (RAID1 + LVM on it), then a fresh boot with another layout gets past the disks', async () => {
    const a = await boot(LAYOUT_A_RAID_LVM, '', /md\/raid1:md0: active with 2 out of 2 mirrors|si-agent shell #|Kernel panic/);
    expect(a.log, failLog(a)).toMatch(/md\/raid1:md0: active with 2 out of 2 mirrors/);
    expect(a.log).not.toMatch(/Laying the image down/);
    before.afterA = signatures(disks);
    console.log(`after the power loss in partitioning: ${JSON.stringify(before.afterA)}`);
    for (const d of before.afterA) expect(d).toContain('p2 linux_raid_member');

    // Layout B: LVM on disk 0, ext4 on disk 1 (over the array's member); killed once the copy is well under way. A
    // pre-install script assembles the half-made array first: the agent stops it (it sits on the target disks alone).
    const b = await boot(LAYOUT_B_LVM_PLAIN, 'SI_FAULT=assemble-stale', /image \[[#-]+\]\s+(?:[3-8]\d)%|si-agent shell #|Kernel panic|reboot: /);
    expect(b.log, failLog(b)).toMatch(/image \[[#-]+\]\s+(?:[3-8]\d)%/);
    expect(b.log).toMatch(/md\/raid1:md9: active with 2 out of 2 mirrors/);
    expect(b.log).toMatch(/WARNING: stopping what an earlier install left active on the target disks: (\/dev\/mapper\/vg_rl-root )?\/dev\/md9/);
    expect(b.log).toMatch(/md: md9 stopped/);
    before.afterB = signatures(disks);
    console.log(`after the power loss in the copy: ${JSON.stringify(before.afterB)}`);
    expect(before.afterB.flat().some((s) => /linux_raid_member/.test(s)), 'the array of layout A is gone').toBe(false);
    expect(before.afterB[0]).toContain('p2 LVM2_member');
    expect(before.afterB[1]).toContain('p1 ext4');
  }, 720_000);

  it('power loss in the middle of the copy, then a fresh boot installs a plain layout: whole image, only its signatures', async () => {
    expect(before.afterB, 'the power-loss boots ran').toBeDefined();
    const c = await boot(LAYOUT_C_PLAIN, 'POST_ACTION=shutdown', /reboot: Power down|si-agent shell #|Kernel panic/, 480_000);
    expect(c.log, failLog(c)).toMatch(/reboot: Power down/);
    expect(statuses(monitor!.lines)).toContain(100);
    const after = signatures(disks);
    console.log(`after the reinstall: ${JSON.stringify(after)}`);
    // gpt on disk 0 (PMBR, both headers), ext4 on p1, swap on p2; msdos on disk 1 with xfs on p1. Nothing else.
    expect(after[0]!.sort()).toEqual(['disk PMBR', 'disk gpt', 'disk gpt', 'p1 ext4', 'p2 swap'].sort());
    expect(after[1]!.sort()).toEqual(['disk dos', 'p1 xfs'].sort());
    const loops = disks.map((d) => sh('losetup', ['-fPr', '--show', d]).trim());
    const mnt = join(dir!, 'mnt');
    const mounted: string[] = [];
    try {
      for (const l of loops) quiet('partprobe', [l]);
      mkdirSync(mnt, { recursive: true });
      sh('mount', ['-o', 'ro,noload', `${loops[0]}p1`, mnt]);
      mounted.unshift(mnt);
      sh('mount', ['-o', 'ro,norecovery', `${loops[1]}p1`, join(mnt, 'srv')]);
      mounted.unshift(join(mnt, 'srv'));
      expect(readFileSync(join(mnt, 'etc/systemimager/IMAGE_LAST_SYNCED_TO'), 'utf8').trim()).toBe(server.imageName);
      for (const [name, sum] of Object.entries(bulk)) {
        expect(createHash('sha256').update(readFileSync(join(mnt, 'srv/bulk', name))).digest('hex'), name).toBe(sum);
      }
      const fstab = readFileSync(join(mnt, 'etc/fstab'), 'utf8');
      expect(fstab).toMatch(/^LABEL=root\s+\/\s+ext4/m);
      expect(fstab).toMatch(/^UUID=\S+\s+\/srv\s+xfs/m);
    } finally {
      for (const m of mounted) quiet('umount', [m]);
      for (const l of loops) quiet('losetup', ['-d', l]);
      rmSync(mnt, { recursive: true, force: true });
    }
  }, 600_000);
});
