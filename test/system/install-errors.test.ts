// System test (root): bad input is refused with a clear error, before any disk is written.
// Needs root: loop devices, mount, a real rsync daemon on 127.0.0.1.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeImageServer, startRsyncd, findFreePort, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { attachLoop, detachLoops, headHash, type Loop } from './lib/loops.js';
import { runAgent, type AgentRun } from './lib/agent.js';

let work: string;
let server: ImageServerInfo;
let rsyncd: { port: number; stop(): Promise<void> };
const loops: Loop[] = [];
const mounts: string[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'si-errors-test-'));
  server = await makeImageServer(join(work, 'server'));
  rsyncd = await startRsyncd(server.dir);
});

afterAll(async () => {
  for (const m of mounts) spawnQuiet('umount', [m]);
  detachLoops(loops);
  await rsyncd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function spawnQuiet(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
  } catch {
    /* cleanup is best effort */
  }
}

/** Runs `si-agent install` against the fixture server with extra cmdline words onto the given disks. */
async function install(words: string, disks: string[], extra: string[] = [], port = rsyncd.port): Promise<AgentRun> {
  const dir = mkdtempSync(join(work, 'run-'));
  return await runAgent(
    ['install', '--cmdline', `IMAGESERVER=127.0.0.1 ${words}`, '--rsync-port', String(port), ...disks.flatMap((d) => ['--disk', d]),
      '--sysroot', join(dir, 'sysroot'), '--workdir', join(dir, 'work'), '--log', join(dir, 'si.log'), ...(extra.length ? extra : ['--local-cfg', '/dev/null'])],
    { env: { SI_TMP: dir } },
  );
}

function newDisk(name: string, mib: number): Loop {
  const l = attachLoop(work, name, mib);
  loops.push(l);
  return l;
}

describe('bad input is refused before any write', () => {
  it('unknown IMAGENAME: exit 2, the error lists the images the server offers, disk unchanged', async () => {
    const d = newDisk('unknown-image', 600);
    const before = headHash(d.dev);
    const r = await install('IMAGENAME=no-such-image', [d.dev]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/cmdline IMAGENAME: "no-such-image" is not an image on 127\.0\.0\.1; it offers: fixture-image/);
    expect(headHash(d.dev)).toBe(before);
  });

  it('layout larger than the disk: exit 2 naming the disk, disk unchanged', async () => {
    const d = newDisk('too-small', 100);
    const before = headHash(d.dev);
    copyFileSync(resolve(__dirname, '../../fixtures/layouts/gpt-ext4-xfs-swap.xml'), join(server.scriptsDir, 'disks-layouts', 'node001.xml'));
    try {
      const r = await install('', [d.dev]);
      expect(r.code).toBe(2);
      expect(r.stdout).toMatch(/disks-layouts\/node001\.xml/);
      expect(r.stdout).toMatch(/too small|larger than|does not fit|MiB/i);
      expect(r.stdout).toContain('no disk was written');
      expect(headHash(d.dev)).toBe(before);
    } finally {
      rmSync(join(server.scriptsDir, 'disks-layouts', 'node001.xml'), { force: true });
    }
  });

  it('a disk holding a mounted filesystem is refused, its bytes unchanged', async () => {
    const d = newDisk('mounted', 600);
    execFileSync('mkfs.ext4', ['-q', '-F', d.dev]);
    const mp = join(work, 'mnt-busy');
    mkdirSync(mp);
    execFileSync('mount', [d.dev, mp]);
    writeFileSync(join(mp, 'precious'), 'keep me\n');
    execFileSync('umount', [mp]);
    // Mounted read-only so that the kernel itself writes nothing to the disk
    // while the test compares its bytes (a read-write ext4 zeroes its inode
    // tables in the background and updates its superblock on commit).
    execFileSync('mount', ['-o', 'ro', d.dev, mp]);
    mounts.push(mp);
    const before = headHash(d.dev);
    const r = await install('', [d.dev]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/mounted/);
    expect(r.stdout).toContain(d.dev);
    expect(headHash(d.dev)).toBe(before);
    expect(existsSync(join(mp, 'precious'))).toBe(true);
  });

  it('malformed local.cfg: exit 2, the error names file and line', async () => {
    const d = newDisk('bad-cfg', 600);
    const cfg = join(work, 'local.cfg');
    writeFileSync(cfg, '# site settings\nIMAGESERVER=127.0.0.1\nLOG_SERVER_PORT=99999\nrm -rf /\n');
    const r = await install('', [d.dev], ['--local-cfg', cfg]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(`local.cfg:${cfg}:3 LOG_SERVER_PORT`);
    expect(r.stdout).toContain(`local.cfg:${cfg}:4`);
  });

  it('image server down: bounded retries, then a clear error naming the server', async () => {
    const d = newDisk('server-down', 600);
    const before = headHash(d.dev);
    const closed = await findFreePort();
    const started = Date.now();
    const r = await install('', [d.dev], [], closed);
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(90_000);
    expect(r.stdout).toMatch(new RegExp(`127\\.0\\.0\\.1:${closed}`));
    expect(r.stdout).toMatch(/attempts/);
    expect(r.stdout).toContain('no disk was written');
    expect(headHash(d.dev)).toBe(before);
  });
});
