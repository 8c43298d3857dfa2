// Reliability (root: loop devices, mount, chroot; network only on 127.0.0.1): faults beside the image copy, each injected
// into a real install. Rows of issue 12: the monitor down, stalled (accepts, never reads), or back within the install;
// no syslog server; a post-install script that hangs (SCRIPT_TIMEOUT); one that leaves a daemon running in the target.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort, makeImageServer, startRsyncd, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { attachLoop, detachLoops, type Loop } from '../system/lib/loops.js';
import { runAgent, type AgentRun } from '../system/lib/agent.js';
import { waitFor } from '../system/lib-net/netns.js';

const enabled = process.getuid?.() === 0;
let work = '';
let server: ImageServerInfo;
let rsyncd: { port: number; stop(): Promise<void> };
let loop: Loop;

/** One install of the fixture image onto the test's loop disk with extra command line words. */
async function install(name: string, words: string): Promise<AgentRun & { events: Array<Record<string, unknown>> }> {
  const dir = join(work, name);
  mkdirSync(dir);
  const events = join(dir, 'events.jsonl');
  return await runAgent(['install', '--cmdline', `IMAGESERVER=127.0.0.1 POST_ACTION=shutdown ${words}`, '--local-cfg', '/dev/null', '--rsync-port', String(rsyncd.port),
    '--disk', loop.dev, '--sysroot', join(dir, 'sysroot'), '--workdir', join(dir, 'w'), '--events', events, '--log', join(dir, 'si.log')], { eventsFile: events, env: { SI_TMP: dir } });
}

function statusesOf(lines: string[]): number[] {
  return lines.map((l) => Number(/:status=(-?\d+):/.exec(l)?.[1]));
}

/** A TCP listener on 127.0.0.1 that keeps every line; `stall` accepts connections and never reads or closes them. */
async function listen(port: number, stall = false): Promise<{ server: Server; lines: string[]; sockets: Socket[] }> {
  const lines: string[] = [];
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    if (stall) return s.pause();
    s.on('data', (d) => lines.push(...d.toString().split('\n').filter(Boolean)));
    s.on('end', () => s.end());
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { server, lines, sockets };
}

beforeAll(async () => {
  if (!enabled) return;
  work = mkdtempSync(join(tmpdir(), 'si-side-faults-'));
  server = await makeImageServer(join(work, 'server'));
  rsyncd = await startRsyncd(server.dir);
  loop = attachLoop(work, 'disk', 1024);
});

afterAll(async () => {
  if (!enabled) return;
  detachLoops([loop]);
  await rsyncd?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!enabled)('monitor and syslog faults do not hold the install up', () => {
  it('monitor down for the whole install, syslog server absent: the install completes, the monitor is warned about', async () => {
    const mport = await findFreePort();
    const sport = await findFreePort();
    const r = await install('monitor-down', `MONITOR_SERVER=127.0.0.1 MONITOR_PORT=${mport} LOG_SERVER=127.0.0.1 LOG_SERVER_PORT=${sport}`);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`monitor 127\\.0\\.0\\.1:${mport} not answering \\(.*ECONNREFUSED.*\\): messages are kept`));
    expect(r.stdout).toMatch(/message\(s\) not delivered before the end: .*status=0:first_timestamp=on/);
  });

  it('monitor that accepts and never reads: the install completes', async () => {
    const port = await findFreePort();
    const stalled = await listen(port, true);
    try {
      const r = await install('monitor-stalled', `MONITOR_SERVER=127.0.0.1 MONITOR_PORT=${port}`);
      expect(r.code, r.stdout).toBe(0);
      expect(stalled.sockets.length).toBeGreaterThan(0);
    } finally {
      for (const s of stalled.sockets) s.destroy();
      stalled.server.close();
    }
  });

  it('monitor back within the install: no status is lost, they arrive in order', async () => {
    const port = await findFreePort();
    let mon: Awaited<ReturnType<typeof listen>> | undefined;
    const dir = join(work, 'monitor-back');
    const events = join(dir, 'events.jsonl');
    const running = install('monitor-back', `MONITOR_SERVER=127.0.0.1 MONITOR_PORT=${port}`);
    await waitFor(() => existsSync(events) && /"step":"partition"/.test(readFileSync(events, 'utf8')), 60_000, 'the partition step');
    mon = await listen(port);
    try {
      const r = await running;
      expect(r.code, r.stdout).toBe(0);
      const st = statusesOf(mon.lines);
      expect(mon.lines[0]).toMatch(/:status=0:first_timestamp=on:/);
      expect(st.filter((s) => s === 0 || s >= 100)).toEqual([0, 101, 100]);
      // Status 0 went out before the listener existed: it was kept, not dropped.
      expect(r.stdout).not.toMatch(/not delivered/);
    } finally {
      mon.server.close();
    }
  });
});

describe.skipIf(!enabled)('post-install scripts that misbehave', () => {
  const script = (name: string, body: string) => {
    const p = join(server.scriptsDir, 'post-install', name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return p;
  };

  it('a script that hangs is killed after SCRIPT_TIMEOUT and named', async () => {
    // Reading the image's FIFO blocks forever: nobody writes to it.
    const p = script('95all.hang', 'cat /run/fixture.fifo');
    try {
      const r = await install('script-hang', 'SCRIPT_TIMEOUT=3');
      expect(r.code, r.stdout).toBe(1);
      expect(r.stdout).toMatch(/INSTALL FAILED in step "post-install"/);
      expect(r.stdout).toMatch(/post-install script 95all\.hang was killed after SCRIPT_TIMEOUT=3 s/);
      // The failure released the target: nothing of it stays mounted.
      expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(join(work, 'script-hang'));
    } finally {
      rmSync(p);
    }
  });

  it('a script that leaves a daemon running: the daemon is stopped, the target unmounts, the install completes', async () => {
    const p = script('95all.daemon', '(cat /run/fixture.fifo > /dev/null 2>&1 &)\necho started');
    try {
      const r = await install('script-daemon', '');
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).toMatch(/stopping 1 process\(es\) left running in the target: \d+ \(cat\)/);
      expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(join(work, 'script-daemon'));
      expect(r.stdout).not.toMatch(/detaching it lazily/);
    } finally {
      rmSync(p);
    }
  });
});
