// System test (root for the rsync daemon's chroot and a loop device): SCRIPT_MODE as plan and install see it. A 4.3
// master is planned as run mode with the reason; `install` outside the initrd refuses to run it and writes nothing;
// SCRIPT_MODE=read plans the native install and warns once about the master's commands that will not run.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeImageServer, startRsyncd, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { runAgent } from './lib/agent.js';
import { attachLoop, detachLoops, headHash, type Loop } from './lib/loops.js';

const isRoot = process.getuid?.() === 0;
const MASTER = resolve(import.meta.dirname, '../../fixtures/masters/gpt-raid1-lvm.master');
let work: string;
let server: ImageServerInfo;
let rsyncd: { port: number; stop(): Promise<void> } | undefined;
let disk: Loop | undefined;

beforeAll(async () => {
  if (!isRoot) return;
  work = mkdtempSync(join(tmpdir(), 'si-master-plan-'));
  server = await makeImageServer(join(work, 'server'));
  copyFileSync(MASTER, join(server.scriptsDir, 'node001.master'));
  rsyncd = await startRsyncd(server.dir);
  disk = attachLoop(work, 'disk', 600);
});

afterAll(async () => {
  await rsyncd?.stop();
  if (disk) detachLoops([disk]);
  if (work) rmSync(work, { recursive: true, force: true });
});

const agent = (cmd: string, words: string, extra: string[] = []) => {
  const dir = mkdtempSync(join(work, 'run-'));
  return runAgent(
    [cmd, ...extra, '--disk', disk!.dev, '--cmdline', `IMAGESERVER=127.0.0.1 HOSTNAME=node001 ${words}`, '--local-cfg', '/dev/null', '--rsync-port', String(rsyncd!.port), '--workdir', join(dir, 'work'), '--log', join(dir, 'si.log')],
    { env: { SI_TMP: dir } },
  );
};

describe.skipIf(!isRoot)('SCRIPT_MODE in plan and install (root)', () => {
  it('plans a 4.3 master as run mode and says why, with no disk plan', async () => {
    const r = await agent('plan', '', ['--json']);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { plan: { script: string; scriptMode: string; scriptModeReason: string; disks: unknown[] } };
    expect(plan.plan.script).toBe('node001');
    expect(plan.plan.scriptMode).toBe('run');
    expect(plan.plan.scriptModeReason).toMatch(/SCRIPT_MODE=auto: node001\.master sources \/etc\/init\.d\/functions/);
    expect(plan.plan.disks).toEqual([]);
    const text = await agent('plan', '');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/scriptMode: run \(SCRIPT_MODE=auto/);
    expect(text.stdout).toMatch(/install: by node001's own commands/);
  });

  it('install outside the initrd refuses to run it, exit 2, nothing written', async () => {
    const before = headHash(disk!.dev);
    const r = await agent('install', '');
    expect(r.code).toBe(2);
    const said = r.stdout + r.stderr;
    expect(said).toMatch(/node001\.master would run as the install \(SCRIPT_MODE=auto, default\), which si-agent does only in the installer's initrd/);
    expect(said).toMatch(/SCRIPT_MODE=read \(si\.script-mode=read\)/);
    expect(headHash(disk!.dev)).toBe(before);
  });

  it('SCRIPT_MODE=read plans the native install and warns once about the commands it will not run', async () => {
    const r = await agent('plan', 'si.script-mode=read', ['--json']);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { parameters: Record<string, { value: string; source: string }>; plan: { scriptMode: string; postAction: string; postActionSource: string } };
    expect(plan.plan.scriptMode).toBe('read');
    expect(plan.parameters.SCRIPT_MODE).toEqual({ value: 'read', source: 'cmdline' });
    expect(plan.plan.postAction).toBe('shutdown');
    expect(plan.plan.postActionSource).toMatch(/^script:node001\.master:\d+$/);
    expect(r.stderr.match(/is a SystemImager 4\.3 master/g)?.length).toBe(1);
  });

  it('a bad SCRIPT_MODE is an error naming its source and value', async () => {
    const r = await agent('plan', 'SCRIPT_MODE=maybe');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cmdline.*SCRIPT_MODE.*maybe/);
  });
});
