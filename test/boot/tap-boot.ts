// What the boot tests on a tap device share: the tap in a namespace, host names for every leased address, a blank
// disk, the fixture's rsync daemon in the namespace, and reading the installed fixture image back from the disk after QEMU powered off.

import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import { waitFor, type Lab } from '../system/lib-net/netns.ts';

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

/** Starts the fixture's rsync daemon on address:873 in ns (a daemon of the lab) and waits until its log says it started. */
export async function startNsRsyncd(lab: Lab, ns: string, server: ImageServerInfo, address: string, extra: string[] = []): Promise<void> {
  lab.daemon(ns, 'rsyncd', ['rsync', '--daemon', '--no-detach', `--config=${server.rsyncdConf}`, '--port=873', `--address=${address}`, ...extra]);
  const started = () => existsSync(server.logFile) && /rsyncd version .* starting/.test(readFileSync(server.logFile, 'utf8'));
  await waitFor(started, 10_000, `rsyncd in ${ns}: ${lab.log('rsyncd')}`);
}

/** A tap device in ns with the server's address (broadcast set, as udpcast needs), up. */
export function addTap(ns: string, tap: string, cidr: string): void {
  sh('ip', ['-n', ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
  sh('ip', ['-n', ns, 'addr', 'add', cidr, 'brd', '+', 'dev', tap]);
  sh('ip', ['-n', ns, 'link', 'set', tap, 'up']);
}

/** Names every address dnsmasq leases (net.100-.150) node001 in the server's hosts file. */
export function nameLeasesNode001(server: ImageServerInfo, net: string): void {
  appendFileSync(join(server.scriptsDir, 'hosts'), Array.from({ length: 51 }, (_, i) => `${net}.${100 + i} node001.cluster node001\n`).join(''));
}

/** A sparse blank disk image of mib in dir. */
export function blankDisk(dir: string, mib = 1024): string {
  const disk = join(dir, 'disk.img');
  writeFileSync(disk, '');
  truncateSync(disk, mib * 1024 * 1024);
  return disk;
}

/** Loop devices and mounts a boot test made to read its disk back; release() undoes them all. */
export class DiskReader {
  private loops: string[] = [];
  private mounts: string[] = [];

  /** Attaches the disk image and mounts its partition read-only at dir/mnt; returns the mount point. */
  mount(disk: string, dir: string, part = 2): string {
    const loop = sh('losetup', ['-fP', '--show', disk]).trim();
    this.loops.push(loop);
    spawnSync('partprobe', [loop], { stdio: 'ignore' });
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt, { recursive: true });
    sh('mount', ['-o', 'ro', `${loop}p${part}`, mnt]);
    this.mounts.unshift(mnt);
    return mnt;
  }

  /** Unmounts and detaches everything mount() made (best effort: it runs in afterAll). */
  release(): void {
    for (const m of this.mounts.splice(0)) spawnSync('umount', [m], { stdio: 'ignore' });
    for (const l of this.loops.splice(0)) spawnSync('losetup', ['-d', l], { stdio: 'ignore' });
  }
}

/** The installed root holds the fixture image as node001 gets it: the image stamp, host name and overrides. */
export function expectFixtureInstalled(root: string, server: ImageServerInfo): void {
  expect(readFileSync(join(root, 'etc/systemimager/IMAGE_LAST_SYNCED_TO'), 'utf8').trim()).toBe(server.imageName);
  expect(readFileSync(join(root, 'etc/hostname'), 'utf8')).toBe('node001\n');
  expect(readFileSync(join(root, 'etc/shared-gc'), 'utf8')).toBe('compute\n');
  expect(existsSync(join(root, 'root/node001-only'))).toBe(true);
}
