// Reliability, system tier (needs root: loop devices, parted, mkfs, mount; a real rsync daemon on 127.0.0.1): the same
// disk installed twice in a row with a different layout, gpt then msdos. The second install succeeds and wipefs finds
// only what the second layout made. (LVM then plain needs device-mapper, which this host kernel may lack: that case
// runs under QEMU in qemu-faults.test.ts.)

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, startRsyncd, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import { attachLoop, detachLoops, type Loop } from '../system/lib/loops.ts';
import { runAgent } from '../system/lib/agent.ts';

const LAYOUTS = resolve(import.meta.dirname, '../../fixtures/layouts');
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

/** Every signature wipefs finds on the disk and on each of its partitions, as `pN TYPE` (`disk TYPE` for the disk). */
function signatures(loop: string): string[] {
  sh('partprobe', [loop]);
  const devs = sh('lsblk', ['-lnpo', 'NAME', loop]).split('\n').map((s) => s.trim()).filter(Boolean);
  return devs.flatMap((d) =>
    sh('wipefs', ['-i', '-O', 'TYPE', d]).split('\n').map((s) => s.trim()).filter(Boolean).map((t) => `${d === loop ? 'disk' : d.slice(loop.length)} ${t}`),
  ).sort();
}

describe.skipIf(process.getuid?.() !== 0)('reliability: one disk installed twice with different layouts', () => {
  let work: string;
  let server: ImageServerInfo;
  let rsyncd: { port: number; stop(): Promise<void> } | undefined;
  const loops: Loop[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'si-rl-reinstall-'));
    server = await makeImageServer(join(work, 'server'));
    rsyncd = await startRsyncd(server.dir);
  });
  afterAll(async () => {
    for (const m of readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((p) => work && p.startsWith(work)).reverse()) {
      try {
        sh('umount', [m]);
      } catch {
        /* best effort */
      }
    }
    detachLoops(loops);
    await rsyncd?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const install = async (layout: string, loop: Loop, name: string) => {
    copyFileSync(join(LAYOUTS, layout), join(server.scriptsDir, 'disks-layouts', 'node001.xml'));
    const dir = join(work, name);
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    return await runAgent(
      ['install', '--cmdline', 'IMAGESERVER=127.0.0.1 HOSTNAME=node001', '--local-cfg', '/dev/null', '--rsync-port', String(rsyncd!.port),
        '--disk', loop.dev, '--sysroot', join(dir, 'sysroot'), '--workdir', join(dir, 'work'), '--log', join(dir, 'si.log')],
      { env: { SI_TMP: join(dir, 'tmp') } },
    );
  };

  it('gpt (xfs root, ext4 /boot, swap) then msdos with logicals: the second succeeds, no gpt or xfs left', async () => {
    const loop = attachLoop(work, 'disk', 1200);
    loops.push(loop);
    const first = await install('gpt-ext4-xfs-swap.xml', loop, 'first');
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const afterGpt = signatures(loop.dev);
    console.log(`wipefs after the gpt install: ${afterGpt.join(', ')}`);
    expect(afterGpt).toEqual(['disk PMBR', 'disk gpt', 'disk gpt', 'p2 ext4', 'p3 swap', 'p4 xfs']);

    const second = await install('msdos-extended.xml', loop, 'second');
    expect(second.code, second.stdout + second.stderr).toBe(0);
    const afterMsdos = signatures(loop.dev);
    console.log(`wipefs after the msdos install: ${afterMsdos.join(', ')}`);
    // msdos-extended.xml: p1 ext3 /boot, p2 the extended container, p5 ext4 /, p6 swap, p7 ext2 /var.
    expect(afterMsdos.filter((s) => !s.startsWith('p2 '))).toEqual(['disk dos', 'p1 ext3', 'p5 ext4', 'p6 swap', 'p7 ext2']);
    expect(afterMsdos.join(' '), 'nothing of the gpt layout').not.toMatch(/gpt|PMBR|xfs/);

    const mnt = join(work, 'check');
    mkdirSync(mnt, { recursive: true });
    sh('mount', ['-o', 'ro', `${loop.dev}p5`, mnt]);
    try {
      expect(readFileSync(join(mnt, 'etc/systemimager/IMAGE_LAST_SYNCED_TO'), 'utf8').trim()).toBe(server.imageName);
      expect(readFileSync(join(mnt, 'etc/fstab'), 'utf8')).toMatch(/^LABEL=\/\s+\/\s+ext4/m);
    } finally {
      sh('umount', [mnt]);
    }
  }, 240_000);
});
