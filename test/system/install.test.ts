// System test (root): full `si-agent install` from a real rsync daemon onto loop devices, for four layouts.
// Needs root: loop devices, parted, mkfs, mdadm, lvm, mount. Network only on 127.0.0.1.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createSocket, type Socket } from 'node:dgram';
import { join, resolve } from 'node:path';
import { makeImageServer, startRsyncd, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { compareTrees } from '../helpers/compare-trees.js';
import { ADDED, buildExpectedTree, unexpectedDiffs } from '../helpers/expected-tree.js';
import { attachLoop, detachLoops, type Loop } from './lib/loops.js';
import { listenMonitor, statuses, type MonitorListener } from './lib/monitor-listener.js';
import { runAgent } from './lib/agent.js';

const LAYOUTS = resolve(__dirname, '../../fixtures/layouts');

/** This kernel's md and device-mapper support: some test VMs have neither (their RAID/LVM cases then run under QEMU in test/boot). */
const HAS_MD = existsSync('/proc/mdstat');
const HAS_DM = existsSync('/proc/misc') && readFileSync('/proc/misc', 'utf8').includes('device-mapper');

interface Case {
  name: string;
  /** Extra kernel command line words for this case. */
  words?: string;
  /** Why this case cannot run on this kernel, if it cannot. */
  unsupported?: string;
  layout: string;
  disksMiB: number[];
  /** What to mount (in order) to look at the installed tree; may activate md/LVM first. */
  mounts(loops: Loop[]): Array<{ dev: string; mp: string }>;
  activate?(loops: Loop[]): void;
  deactivate?(): void;
  fstabHas: RegExp[];
}

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

const CASES: Case[] = [
  {
    name: 'gpt: ext4 /boot, swap, xfs /',
    layout: 'gpt-ext4-xfs-swap.xml',
    disksMiB: [1200],
    mounts: (l) => [{ dev: `${l[0]!.dev}p4`, mp: '/' }, { dev: `${l[0]!.dev}p2`, mp: '/boot' }],
    fstabHas: [/^UUID=5f1ed2a4-0f6b-4b7e-9a51-3c2d8e6a7b10\s+\/\s+xfs/m, /^LABEL=boot\s+\/boot\s+ext4\s+defaults,noatime/m, /\sswap\s+swap\s/m],
  },
  {
    name: 'gpt, image staged through tmpfs (TMPFS_STAGING)',
    layout: 'gpt-ext4-xfs-swap.xml',
    words: 'TMPFS_STAGING=yes tmpfs_size=512m',
    disksMiB: [1200],
    mounts: (l) => [{ dev: `${l[0]!.dev}p4`, mp: '/' }, { dev: `${l[0]!.dev}p2`, mp: '/boot' }],
    fstabHas: [/^LABEL=boot\s+\/boot\s+ext4/m],
  },
  {
    name: 'msdos: primary, extended, logicals',
    layout: 'msdos-extended.xml',
    disksMiB: [1200],
    mounts: (l) => [{ dev: `${l[0]!.dev}p5`, mp: '/' }, { dev: `${l[0]!.dev}p1`, mp: '/boot' }, { dev: `${l[0]!.dev}p7`, mp: '/var' }],
    fstabHas: [/^LABEL=\/\s+\/\s+ext4/m, /^LABEL=\/boot\s+\/boot\s+ext3/m, /^none\s+\/proc\s+proc/m,
      // Installed as /dev/loopN, booted as sda or vda: the layout's device names become UUIDs (the names kept as comments).
      /^# \/dev\/sda7 \(installed as \/dev\/loop\d+p7\)\nUUID=[0-9a-f-]{36}\s+\/var\s+ext2/m, /^UUID=[0-9a-f-]{36}\s+swap\s+swap/m],
  },
  {
    name: 'RAID1 across two disks',
    layout: 'raid1.xml',
    unsupported: HAS_MD ? undefined : 'this kernel has no md (no /proc/mdstat)',
    disksMiB: [600, 600],
    activate: (l) => sh('mdadm', ['--assemble', '--run', '/dev/md/sitest', `${l[0]!.dev}p2`, `${l[1]!.dev}p2`]),
    mounts: () => [{ dev: '/dev/md/sitest', mp: '/' }],
    deactivate: () => void sh('mdadm', ['--stop', '/dev/md/sitest']),
    fstabHas: [/^LABEL=root\s+\/\s+ext4/m],
  },
  {
    name: 'LVM: two logical volumes',
    layout: 'lvm.xml',
    unsupported: HAS_DM ? undefined : 'this kernel has no device-mapper',
    disksMiB: [1200],
    activate: () => sh('vgchange', ['-ay', 'vg_si']),
    mounts: (l) => [{ dev: '/dev/vg_si/root', mp: '/' }, { dev: `${l[0]!.dev}p1`, mp: '/boot' }, { dev: '/dev/vg_si/data', mp: '/data' }],
    deactivate: () => void sh('vgchange', ['-an', 'vg_si']),
    fstabHas: [/^LABEL=root\s+\/\s+ext4/m, /^LABEL=data\s+\/data\s+xfs/m],
  },
];

let work: string;
let server: ImageServerInfo;
let rsyncd: { port: number; stop(): Promise<void> };
let monitor: MonitorListener;
let syslog: Socket;
const syslogLines: string[] = [];
let expected: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'si-install-test-'));
  server = await makeImageServer(join(work, 'server'));
  rsyncd = await startRsyncd(server.dir);
  monitor = await listenMonitor();
  syslog = createSocket('udp4');
  syslog.on('message', (m) => syslogLines.push(m.toString('utf8')));
  await new Promise<void>((r) => syslog.bind(0, '127.0.0.1', () => r()));
  expected = buildExpectedTree(server, join(work, 'expected'));
});

afterAll(async () => {
  await rsyncd?.stop();
  await monitor?.close();
  syslog?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.each(CASES)('install: $name', (c) => {
  it.skipIf(c.unsupported !== undefined)('lays the image down, overrides in order, fstab, post-install chrooted, monitor 0..100', async () => {
    const dir = mkdtempSync(join(work, 'case-'));
    const loops: Loop[] = [];
    const check = join(dir, 'check');
    const mounted: string[] = [];
    try {
      c.disksMiB.forEach((mib, i) => loops.push(attachLoop(dir, `disk${i}`, mib)));
      copyFileSync(join(LAYOUTS, c.layout), join(server.scriptsDir, 'disks-layouts', 'node001.xml'));
      monitor.lines.length = 0;
      syslogLines.length = 0;
      const events = join(dir, 'events.jsonl');
      const siTmp = join(dir, 'initrd-tmp');
      mkdirSync(siTmp);
      const r = await runAgent(
        ['install', '--cmdline', `IMAGESERVER=127.0.0.1 MONITOR_SERVER=127.0.0.1 MONITOR_PORT=${monitor.port} LOG_SERVER=127.0.0.1 LOG_SERVER_PORT=${syslog.address().port} POST_ACTION=shutdown ${c.words ?? ''}`, '--local-cfg', '/dev/null',
          '--rsync-port', String(rsyncd.port), ...loops.flatMap((l) => ['--disk', l.dev]), '--sysroot', join(dir, 'sysroot'), '--workdir', join(dir, 'work'), '--events', events, '--log', join(dir, 'si.log')],
        { eventsFile: events, env: { SI_TMP: siTmp } },
      );
      expect(r.code, r.stdout + r.stderr).toBe(0);
      // The pre-install script ran (and its backup did not), and its variable reached the parameters.
      expect(readFileSync(join(siTmp, 'pre-install-marker'), 'utf8')).toContain('node001');
      expect(existsSync(join(siTmp, 'pre-install-backup-ran'))).toBe(false);
      // Nothing of the target is left mounted.
      expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(join(dir, 'sysroot'));
      c.activate?.(loops);
      for (const m of c.mounts(loops)) {
        const mp = join(check, m.mp);
        mkdirSync(mp, { recursive: true });
        sh('mount', ['-o', 'ro', m.dev, mp]);
        mounted.unshift(mp);
      }
      expect(unexpectedDiffs(await compareTrees(expected, check, { ignore: ADDED }))).toEqual([]);
      // Mount points that the image has are laid down as the image has them; boot's contents are the image's.
      if (existsSync(join(server.imageDir, 'boot'))) expect(await compareTrees(join(expected, 'boot'), join(check, 'boot'), { ignore: ['lost+found'] })).toEqual([]);
      const fstab = readFileSync(join(check, 'etc/fstab'), 'utf8');
      for (const re of c.fstabHas) expect(fstab).toMatch(re);
      expect(fstab, 'no entry names an install-time loop device').not.toMatch(/^\/dev\/loop/m);
      expect(readFileSync(join(check, 'etc/systemimager/IMAGE_LAST_SYNCED_TO'), 'utf8').trim()).toBe(server.imageName);
      // The installed system is configured as this host.
      expect(readFileSync(join(check, 'etc/hostname'), 'utf8')).toBe('node001\n');
      expect(readFileSync(join(check, 'etc/hosts'), 'utf8')).toMatch(/^127\.0\.1\.1\s+node001/m);
      // Override precedence: global < group < host.
      expect(readFileSync(join(check, 'etc/shared-gc'), 'utf8')).toBe('compute\n');
      expect(existsSync(join(check, 'root/node001-only'))).toBe(true);
      // Post-install scripts ran chrooted, in tag order, backups and other groups skipped.
      const ran = readFileSync(join(check, 'root/post-install-ran'), 'utf8');
      expect(ran).toContain('chrooted=yes');
      expect(ran).toContain('HOSTNAME=node001');
      expect(readFileSync(join(check, 'root/post-install-order'), 'utf8').split('\n').filter(Boolean)).toEqual(['all', 'image', 'group', 'host']);
      // Monitor: starts with status 0 (first_timestamp), ends with 100.
      const st = statuses(monitor.lines);
      expect(monitor.lines[0]).toMatch(/^mac=.*:status=0:first_timestamp=on:speed=0$/);
      // The monitor starts before the host name is known (SPEC 1 step 6); later messages carry it.
      expect(monitor.lines.at(-1)).toContain('host=node001');
      expect(monitor.lines.at(-1)).toContain(`os=${server.imageName}`);
      expect(st.at(-1)).toBe(100);
      expect(st).toContain(101);
      expect(r.events.some((e) => e.type === 'progress')).toBe(true);
      // Remote syslog: RFC 3164 lines (<PRI>Mmm dd hh:mm:ss host tag[pid]: msg) for the steps.
      expect(syslogLines.length).toBeGreaterThan(5);
      expect(syslogLines[0]).toMatch(/^<\d+>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ [^:]+: /);
      expect(syslogLines.some((l) => /Laying the image down/.test(l))).toBe(true);
      if (c.words?.includes('TMPFS_STAGING=yes')) expect(r.events.some((e) => e.type === 'command' && (e.argv as string[]).includes('tmpfs'))).toBe(true);
    } finally {
      for (const m of mounted) spawnQuiet('umount', [m]);
      try {
        c.deactivate?.();
      } catch {
        /* not active */
      }
      detachLoops(loops);
    }
  });
});

function spawnQuiet(cmd: string, args: string[]): void {
  try {
    sh(cmd, args);
  } catch {
    /* best effort cleanup */
  }
}
