// Boot tier (needs root, qemu-system-x86_64, ip netns, /dev/net/tun, dnsmasq, rsync, OpenSSH's ssh; TCG, no KVM):
// server-driven SSH in the real boot package. The standard package is built with a baked authorized_keys; the guest
// boots with SSHD=y, leases from dnsmasq on a tap in a namespace, and waits. The image server's rsync daemon listens
// only on the namespace's own 127.0.0.1, so the guest cannot reach it but through the push: OpenSSH's ssh in the
// namespace runs what si_pushinstall runs. The test checks the serial log, the rsyncd log and the installed disk.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import { buildBootPackage, type PackageResult } from '../../initrd-build/build-package.ts';
import { canRunNetTests, createLab, waitFor, type Lab } from '../system/lib-net/netns.ts';
import { startDnsmasq } from '../system/lib-net/servers.ts';
import { canBoot, PROJECT_DIR, removeTestDir } from './package-fixture.ts';
import { addTap, blankDisk, DiskReader, expectFixtureInstalled, nameLeasesNode001 } from './tap-boot.ts';
import { bootQemu, tailOf } from './qemu.ts';

const NET = '10.214.16';
const SERVER = `${NET}.1`;
const TAP = 'sisshtap0';
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function skipReason(): string | null {
  if (!canBoot()) return 'needs root and qemu-system-x86_64';
  if (!canRunNetTests()) return 'needs ip netns';
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun for the tap device';
  if (!existsSync('/usr/sbin/dnsmasq') || !existsSync('/usr/bin/rsync') || !existsSync('/usr/bin/ssh')) return 'needs dnsmasq, rsync and ssh';
  return null;
}
const reason = skipReason();
if (reason) console.warn(`boot-ssh-push skipped: ${reason}`);

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const quiet = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' });

describe.skipIf(reason !== null)('boot package with baked authorized_keys: SSHD=y, the image server pushes (si_pushinstall)', () => {
  let dir: string | undefined;
  let pkg: PackageResult;
  let lab: Lab | undefined;
  let server: ImageServerInfo;
  let ns = '';
  let key = '';
  const reader = new DiskReader();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'si-boot-ssh.'));
    key = join(dir, 'pusher');
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'imageserver@si-test', '-f', key]);
    pkg = await buildBootPackage({ projectDir: PROJECT_DIR, out: join(dir, 'pkg'), flavor: 'standard', append: 'console=ttyS0 panic=-1', media: false, authorizedKeys: `${key}.pub` });
    lab = createLab('boot-ssh');
    server = await makeImageServer(join(lab.dir, 'server'));
    nameLeasesNode001(server, NET);
    ns = lab.ns('ssh');
    addTap(ns, TAP, `${SERVER}/24`);
    await startDnsmasq(lab, ns, 'dnsmasq', TAP, { net: NET }, [`140,${SERVER}`]);
    // Loopback only: the guest reaches this daemon through the SSH forward or not at all.
    lab.daemon(ns, 'rsyncd', ['rsync', '--daemon', '--no-detach', `--config=${server.rsyncdConf}`, '--port=873', '--address=127.0.0.1']);
    await waitFor(() => existsSync(server.logFile) && /rsyncd version .* starting/.test(readFileSync(server.logFile, 'utf8')), 10_000, `rsyncd: ${lab.log('rsyncd')}`);
  }, 400_000);

  afterAll(async () => {
    quiet('pkill', ['-f', key]);
    reader.release();
    await lab?.cleanup();
    removeTestDir(dir);
  });

  it('waits for the push, installs through the forward, powers off', async () => {
    const d = dir!;
    const disk = blankDisk(d);
    let push: ReturnType<typeof spawnSync> | undefined;
    const booting = bootQemu({
      workDir: d,
      kernel: join(pkg.dir, 'kernel'),
      initrd: join(pkg.dir, 'initrd.img'),
      append: 'console=ttyS0 panic=-1 SSHD=y SSHD_WAIT=300 POST_ACTION=shutdown',
      disks: [disk],
      netns: ns,
      tap: { ifname: TAP },
      until: /reboot: Power down|si-agent shell #|Kernel panic/,
      timeoutMs: 540_000,
    });
    // The console names the address to push to; the image server then runs si_pushinstall's ssh command.
    const serial = () => readdirSerial(d);
    await waitFor(() => /si_pushinstall --hosts \S+\r?\n/.test(serial()) || /si-agent shell #/.test(serial()), 300_000, 'the guest to wait for the push');
    const host = /si_pushinstall --hosts (\S+)\r?\n/.exec(serial())?.[1];
    if (host) {
      push = spawnSync('ip', ['netns', 'exec', ns, 'ssh', '-i', key, '-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'ServerAliveInterval=60', '-o', 'ConnectTimeout=30',
        '-l', 'root', '-n', '-f', '-R873:localhost:873', host, 'sleep 100000 > /tmp/si_pushupdate.completed'], { encoding: 'utf8', timeout: 120_000 });
    }
    const r = await booting;
    const why = `serial log:\n${tailOf(r.log, 80)}\n--- ssh ---\n${push?.stderr ?? '(not run)'}`;
    expect(host, why).toMatch(new RegExp(`^${esc(NET)}\\.1\\d\\d$`));
    expect(push!.status, why).toBe(0);
    expect(r.log, why).toMatch(/reboot: Power down/);
    console.log(`boot-ssh-push: /init after ${r.initSeconds} s, powered off after ${r.seconds} s`);
    expect(r.log).toMatch(/SSH server on \S+:22, host keys SHA256:\S{43} SHA256:\S{43}; 1 authorized key/);
    expect(r.log).toMatch(/transport: sshd \(SHA256:\S{43} \(imageserver@si-test\) from 10\.214\.16\.1/);
    expect(r.log).toMatch(/Laying the image down/);
    // Every rsync request came through the forward: the daemon saw them from its own loopback.
    const rlog = readFileSync(server.logFile, 'utf8');
    expect(rlog).toMatch(new RegExp(`rsync on ${esc(server.imageName)}/ from \\S+ \\(127\\.0\\.0\\.1\\)`));
    expect(rlog).toMatch(new RegExp(`imaging_complete_${esc(host!)}`));
    const mnt = reader.mount(disk, d);
    expectFixtureInstalled(mnt, server);
  }, 600_000);
});

/** The serial log of the one QEMU run in dir (bootQemu names it serial-<ms>.log). */
function readdirSerial(dir: string): string {
  const f = sh('ls', [dir]).split('\n').find((n) => /^serial-\d+\.log$/.test(n));
  return f ? readFileSync(join(dir, f), 'latin1') : '';
}
