// Reliability (root: a loop device, mount, chroot; network only on 127.0.0.1): 20 installs in a row onto the same disk,
// each checked for leaks afterwards: no mount left, no process left that names the run's directory, nothing holding
// the disk, no scratch directory left (the agent's own, made under TMPDIR), and the agent's peak RSS flat.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { makeImageServer, startRsyncd, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { attachLoop, detachLoops, type Loop } from '../system/lib/loops.js';
import { runAgent } from '../system/lib/agent.js';

const enabled = process.getuid?.() === 0;
const ROUNDS = 20;
let work = '';
let server: ImageServerInfo;
let rsyncd: { port: number; stop(): Promise<void> };
let loop: Loop;

beforeAll(async () => {
  if (!enabled) return;
  work = mkdtempSync(join(tmpdir(), 'si-soak-'));
  server = await makeImageServer(join(work, 'server'));
  rsyncd = await startRsyncd(server.dir);
  loop = attachLoop(work, 'disk', 600);
});

afterAll(async () => {
  if (!enabled) return;
  detachLoops([loop]);
  await rsyncd?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Processes (other than this test) whose command line names dir. */
function processesNaming(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(dir) && Number(pid) !== process.pid) found.push(`${pid}: ${cmd}`);
    } catch {
      // gone
    }
  }
  return found;
}

describe.skipIf(!enabled)(`soak: ${ROUNDS} installs in a row`, () => {
  it('leaves no mounts, processes, holders or scratch directories behind, and peak RSS stays flat', async () => {
    const scratch = join(work, 'tmpdir');
    mkdirSync(scratch);
    const rss: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const dir = join(work, `run-${i}`);
      mkdirSync(dir);
      // No --workdir and no --sysroot: the agent makes its own scratch directory under TMPDIR and must remove it.
      const r = await runAgent(['install', '--cmdline', 'IMAGESERVER=127.0.0.1 POST_ACTION=shutdown', '--local-cfg', '/dev/null', '--rsync-port', String(rsyncd.port),
        '--disk', loop.dev, '--log', join(dir, 'si.log')], { env: { SI_TMP: dir, TMPDIR: scratch } });
      expect(r.code, `round ${i}:\n${r.stdout}`).toBe(0);
      expect(readFileSync('/proc/self/mounts', 'utf8'), `round ${i}`).not.toMatch(new RegExp(`${scratch}|${loop.dev}`));
      expect(processesNaming(scratch).concat(processesNaming(loop.dev)), `round ${i}`).toEqual([]);
      expect(readdirSync(`/sys/block/${basename(loop.dev)}/holders`), `round ${i}`).toEqual([]);
      expect(readdirSync(scratch), `round ${i}`).toEqual([]);
      rss.push(Number(/peak RSS ([\d.]+) MiB/.exec(r.stdout)![1]));
    }
    console.log(`soak: peak RSS per install (MiB): ${rss.join(' ')}`);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // Each install is its own process: growth would mean state carried between runs (caches, logs read whole).
    expect(mean(rss.slice(-5)) - mean(rss.slice(0, 5))).toBeLessThan(10);
    // The loop device is still free for anyone: it can be detached and attached again.
    expect(execFileSync('losetup', ['-j', loop.file], { encoding: 'utf8' })).toContain(loop.dev);
  }, 600_000);
});
