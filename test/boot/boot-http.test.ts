// Boot tier (needs root, qemu-system-x86_64, nginx; TCG, no KVM): the standard boot package installs over HTTP. nginx on
// 127.0.0.1 serves a signed publish tree of the fixture image; user networking's guestfwd sends the guest's
// 10.0.2.100:80 to it (the initrd has no web server; the server is the host's). The agent (PID 1) gets its address by
// DHCP from QEMU, checks the manifest against MANIFEST_KEY, streams the image into the virtio disk, powers off; the test
// reads the disk through a loop device.

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort, makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { publishTree } from '../../agent/publish/publish.js';
import { listenMonitor, statuses, type MonitorListener } from '../system/lib/monitor-listener.ts';
import { buildTestPackage, canBoot, removeTestDir } from './package-fixture.ts';
import { bootQemu, SERVER_IP, tailOf } from './qemu.ts';
import { INSTALLER_KERNEL_WORDS } from '../../agent/init/installer-kernel-words.ts';

const LAYOUT = `<config>
  <disk dev="/dev/sda" label_type="gpt" unit_of_measurement="MB">
    <part num="1" size="32" p_type="primary" p_name="swap" flags="-" />
    <part num="2" size="*" p_type="primary" p_name="root" flags="-" />
  </disk>
  <fsinfo line="10" real_dev="/dev/sda2" mount_dev="LABEL=root" mp="/" fs="ext4" options="defaults" dump="1" pass="1" />
  <fsinfo line="20" real_dev="/dev/sda1" mp="swap" fs="swap" options="defaults" dump="0" pass="0" />
</config>
`;
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

describe.skipIf(!canBoot() || !existsSync('/usr/sbin/nginx'))('boot install over HTTP: the agent as /init installs from nginx', () => {
  let dir: string | undefined;
  let pkg: PackageResult;
  let server: ImageServerInfo;
  let monitor: MonitorListener | undefined;
  let nginx: ChildProcess | undefined;
  let port = 0;
  let fingerprint = '';

  beforeAll(async () => {
    ({ dir, pkg } = await buildTestPackage('console=ttyS0 panic=-1', false));
    server = await makeImageServer(join(dir, 'server'));
    writeFileSync(join(server.scriptsDir, 'disks-layouts', 'node001.xml'), LAYOUT);
    const pub = await publishTree({ images: join(server.dir, 'images'), overrides: server.overridesDir, scripts: server.scriptsDir, out: join(dir, 'www/pub'), signKey: generateKeyPairSync('ed25519').privateKey });
    fingerprint = pub.manifest.fingerprint!;
    port = await findFreePort();
    const prefix = join(dir, 'nginx');
    mkdirSync(prefix);
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${prefix}/tmp-${t};`).join(' ');
    writeFileSync(join(prefix, 'nginx.conf'), `worker_processes 1; user root; pid ${prefix}/nginx.pid; error_log ${prefix}/error.log;
events { worker_connections 64; }
http { access_log ${prefix}/access.log; ${temp} default_type application/octet-stream; sendfile on;
  server { listen 127.0.0.1:${port}; root ${join(dir, 'www')}; location /done/ { return 204; } } }
`);
    nginx = spawn('nginx', ['-c', join(prefix, 'nginx.conf'), '-p', prefix, '-g', 'daemon off;'], { stdio: 'ignore' });
    monitor = await listenMonitor();
  }, 600_000);
  afterAll(async () => {
    nginx?.kill('SIGTERM');
    await monitor?.close();
    removeTestDir(dir);
  });

  it('installs the image and overrides over HTTP with the manifest pinned, monitor 0 .. 100 then 105, powers off', async () => {
    const disk = join(dir!, 'disk.img');
    writeFileSync(disk, '');
    truncateSync(disk, 600 * 1024 * 1024);
    const r = await bootQemu({
      workDir: dir!,
      kernel: join(pkg.dir, 'kernel'),
      initrd: join(pkg.dir, 'initrd.img'),
      append: `console=ttyS0 panic=-1 ${INSTALLER_KERNEL_WORDS.join(' ')} HTTP_BASE=http://${SERVER_IP}/pub/ MANIFEST_KEY=${fingerprint} IMAGING_COMPLETE_URL=http://${SERVER_IP}/done/{hostname} HOSTNAME=node001 MONITOR_SERVER=${SERVER_IP} MONITOR_PORT=8181 POST_ACTION=shutdown`,
      disks: [disk],
      forwards: [
        { guestPort: 80, hostPort: port },
        { guestPort: 8181, hostPort: monitor!.port },
      ],
      until: /reboot: Power down|si-agent shell #|Kernel panic/,
      timeoutMs: 480_000,
    });
    expect(r.log, `serial log:\n${tailOf(r.log, 80)}`).toMatch(/reboot: Power down/);
    expect(r.log).toMatch(/Laying the image down/);
    expect(r.log).toMatch(/laid down over HTTP in/);
    console.log(`boot install over HTTP: /init after ${r.initSeconds} s, powered off after ${r.seconds} s`);
    const st = statuses(monitor!.lines);
    expect(st[0]).toBe(0);
    expect(st).toContain(100);
    expect(st.at(-1)).toBe(105);
    // The monitor's field separator is ':' (sent as '.'): the fingerprint arrives as SHA256.<base64>.
    expect(monitor!.lines.some((l) => l.includes(`manifest_key=${fingerprint.replace(':', '.')}`))).toBe(true);
    const log = readFileSync(join(dir!, 'nginx/access.log'), 'utf8');
    expect(log).toMatch(/GET \/pub\/images\/fixture-image\.tar\.zst HTTP\/1\.1" 200/);
    expect(log).toMatch(/GET \/done\/node001 HTTP\/1\.1" 204/);
    const loop = sh('losetup', ['-fP', '--show', disk]).trim();
    const mnt = join(dir!, 'mnt');
    mkdirSync(mnt, { recursive: true });
    try {
      // The partitions' device nodes may come a moment after losetup -P.
      for (let i = 0; i < 50 && !existsSync(`${loop}p2`); i++) {
        spawnSync('partprobe', [loop]);
        await new Promise((res) => setTimeout(res, 100));
      }
      sh('mount', ['-o', 'ro', `${loop}p2`, mnt]);
      expect(readFileSync(join(mnt, 'etc/systemimager/IMAGE_LAST_SYNCED_TO'), 'utf8').trim()).toBe(server.imageName);
      expect(readFileSync(join(mnt, 'etc/shared-gc'), 'utf8')).toBe('compute\n');
      expect(existsSync(join(mnt, 'root/node001-only'))).toBe(true);
      expect(sh('getfattr', ['--only-values', '-n', 'user.si_test', join(mnt, 'etc/xattr-file')])).toBe('fixture-value');
    } finally {
      try {
        sh('umount', [mnt]);
      } catch {
        /* not mounted */
      }
      sh('losetup', ['-d', loop]);
    }
  }, 900_000);
});
