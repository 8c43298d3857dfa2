// Run mode on this host (no disks): a master in 4.3's form runs through the real functions file and shims, and the
// agent's end answers it: monitor statuses, the report task, killall of the master's own processes only, the
// post-install action with the master's line, /tmp/si_monitor.log, a failing command through shellout, a hang.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunner } from '../../agent/exec/runner.js';
import { Reporter, type Stamped } from '../../agent/report/events.js';
import type { Params } from '../../agent/params/types.js';
import { type Ctx, newFlowState } from '../../agent/steps/context.js';
import { runMaster } from '../../agent/steps/master-run.js';
import { SiError } from '../../agent/errors.js';
import { makeImageServer, startRsyncd } from '../../fixtures/image-server/make-image-server.js';

const COMPAT = resolve(import.meta.dirname, '../../initrd-build/compat');
let work = '';
const saved: Record<string, string | undefined> = {};
const ENV = ['SI_TMP', 'SI_COMPAT_DIR', 'SI_MASTER_TARGET', 'SI_MASTER_SCRIPTS', 'SI_MASTER_CALLS', 'SI_AGENT_CALL', 'SI_FUNCTIONS'];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'si-master-run-'));
  for (const k of ENV) saved[k] = process.env[k];
  Object.assign(process.env, {
    SI_TMP: join(work, 'tmp'),
    SI_COMPAT_DIR: COMPAT,
    SI_MASTER_TARGET: join(work, 'a'),
    SI_MASTER_SCRIPTS: join(work, 'scripts-link'),
    SI_MASTER_CALLS: join(work, 'calls'),
    // The functions and shims call the helper by its initrd path unless told otherwise.
    SI_AGENT_CALL: join(COMPAT, 'si-agent-call'),
    SI_FUNCTIONS: join(COMPAT, 'functions'),
  });
  rmSync(join(work, 'tmp'), { recursive: true, force: true });
  mkdirSync(join(work, 'tmp'), { recursive: true });
  mkdirSync(join(work, 'scripts'), { recursive: true });
});

afterAll(() => {
  for (const k of ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

const params = (o: Record<string, string>): Params => new Map(Object.entries(o).map(([k, v]) => [k, { value: v, source: 'cmdline' }]));

/** A master in 4.3's form, except that it finds variables.txt and the functions where this test put them. */
function master(name: string, body: string): void {
  writeFileSync(join(work, 'scripts', name), `#!/bin/sh\n. "$SI_TMP/variables.txt"\n. "$SI_FUNCTIONS"\n${body.trim()}\n`, { mode: 0o755 });
}

function makeCtx(file: string, p: Record<string, string>): { ctx: Ctx; events: Stamped[] } {
  const report = new Reporter();
  const events: Stamped[] = [];
  report.addSink((e) => events.push(e));
  const state = newFlowState();
  state.scriptsDir = join(work, 'scripts');
  state.scriptFile = file;
  state.scriptMode = 'run';
  state.clientIp = '10.9.0.5';
  const ctx: Ctx = {
    opts: { mode: 'init', cmdlineText: '', localCfgFiles: null, disks: [], sysroot: join(work, 'a'), workdir: join(work, 'tmp'), network: false, performPostAction: false, rsyncPort: 873 },
    run: createRunner(report),
    report,
    signal: new AbortController().signal,
    params: params({ HOSTNAME: 'node001', IMAGESERVER: '10.9.0.1', IMAGENAME: 'img', MONITOR_SERVER: '10.9.0.1', MONITOR_CONSOLE: 'y', SCRIPT_TIMEOUT: '60', ...p }),
    state,
  };
  return { ctx, events };
}

const logs = (events: Stamped[], level: string) => events.flatMap((e) => (e.type === 'log' && e.level === level ? [e.message] : []));
const statuses = (events: Stamped[]) => events.flatMap((e) => (e.type === 'status' ? [e.status] : []));

describe('a 4.3 master run by the agent (no disks)', () => {
  it('runs to its end: output, statuses, killall of its own sleep only, the post action with its line', async () => {
    master('ok.master', `
logmsg "hello from $HOSTNAME on $IPADDR via $IMAGESERVER"
get_arch
send_monitor_msg "status=5:speed=0"
start_report_task
sleep 300 &
SLEEPER=$!
killall sleep
wait $SLEEPER
echo "sleeper ended $?"
stop_report_task 101
echo edit > /dev/null
send_monitor_msg "status=100:speed=0"
shutdown
`);
    // A sleep of the agent's own (not the master's): killall in the master must leave it alone.
    const own = spawn('sleep', ['300'], { stdio: 'ignore' });
    try {
      const { ctx, events } = makeCtx('ok.master', {});
      await runMaster(ctx);
      expect(own.exitCode).toBeNull();
      expect(own.signalCode).toBeNull();
      const info = logs(events, 'info');
      expect(info).toContain('hello from node001 on 10.9.0.5 via 10.9.0.1');
      expect(info).toContain('sleeper ended 143');
      expect(info.some((m) => /^killall sleep: signalled [\d ]+ \(the master's own\)$/.test(m))).toBe(true);
      expect(statuses(events)).toEqual([5, 101, 100]);
      // The post-install action the master asked for, with the master's line as its source.
      expect(ctx.params.get('POST_ACTION')).toEqual({ value: 'shutdown', source: 'script:ok.master:16' });
      // Every command traced into the log with its line.
      const debug = logs(events, 'debug');
      expect(debug).toContain('+ ok.master:4: logmsg \'hello from node001 on 10.9.0.5 via 10.9.0.1\'');
      expect(debug.some((m) => m.startsWith('+ ok.master:10: killall sleep'))).toBe(true);
      // variables.txt in 4.3's form, /scripts linked, the console copy for MONITOR_CONSOLE.
      const vars = readFileSync(join(work, 'tmp', 'variables.txt'), 'utf8');
      expect(vars).toMatch(/^HOSTNAME=node001$/m);
      expect(vars).toMatch(/^IPADDR=10\.9\.0\.5$/m);
      expect(readlinkSync(join(work, 'scripts-link'))).toBe(join(work, 'scripts'));
      expect(readFileSync(join(work, 'tmp', 'si_monitor.log'), 'utf8')).toContain('hello from node001');
    } finally {
      own.kill();
    }
  });

  it('a failing command followed by shellout fails the step naming the line, the command and the status', async () => {
    master('fail.master', `
logmsg "making filesystems"
mke2fs -q -t ext4 -b 999 /dev/null || shellout
echo "not reached" > "$SI_TMP/not-reached"
`);
    const { ctx } = makeCtx('fail.master', {});
    const err = await runMaster(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiError);
    expect((err as SiError).code).toBe('E_SCRIPT');
    expect((err as SiError).message).toBe('the autoinstall script failed at fail.master:5: mke2fs -q -t ext4 -b 999 /dev/null (exit status 1, then shellout)');
    expect(existsSync(join(work, 'tmp', 'not-reached'))).toBe(false);
    expect(ctx.params.get('POST_ACTION')).toBeUndefined();
  });

  it('a master that makes no progress for SCRIPT_TIMEOUT seconds is stopped, naming where it hung', async () => {
    master('hang.master', `
logmsg "waiting for nothing"
sleep 120
`);
    const { ctx } = makeCtx('hang.master', { SCRIPT_TIMEOUT: '2' });
    const started = Date.now();
    const err = (await runMaster(ctx).catch((e: unknown) => e)) as SiError;
    expect(err.code).toBe('E_TIMEOUT');
    expect(err.message).toMatch(/failed at hang\.master:5: sleep 120 \(no progress for 2 s \(SCRIPT_TIMEOUT\): stopped\)/);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it.skipIf(process.getuid?.() !== 0)('under SSH the master reaches the daemon as 127.0.0.1:873, relayed to the tunnel (root: rsyncd)', async () => {
    const server = await makeImageServer(join(work, 'server'));
    const rsyncd = await startRsyncd(server.dir);
    try {
      master('ssh.master', `
logmsg "image server $IMAGESERVER"
rsync -a $IMAGESERVER::scripts/hosts "$SI_TMP/hosts-copy" || shellout
shutdown -r now
`);
      const { ctx, events } = makeCtx('ssh.master', {});
      // What the SSH step leaves: the daemon's end of the tunnel on a local port that is not 873.
      ctx.state.rsyncVia = { host: '127.0.0.1', port: rsyncd.port };
      await runMaster(ctx);
      expect(logs(events, 'info')).toContain('image server 127.0.0.1');
      expect(readFileSync(join(work, 'tmp', 'hosts-copy'), 'utf8')).toBe(readFileSync(join(server.scriptsDir, 'hosts'), 'utf8'));
      expect(ctx.params.get('POST_ACTION')).toEqual({ value: 'reboot', source: 'script:ssh.master:6' });
    } finally {
      await rsyncd.stop();
    }
  });
});
