// System test (root for the rsync daemon's chroot): a hostile scripts directory — shell metacharacters in names,
// command substitutions in the autoinstall script, very long lines — is read as data; nothing in it is executed.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeImageServer, startRsyncd, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { runAgent } from './lib/agent.js';
import { attachLoop, detachLoops, headHash, type Loop } from './lib/loops.js';

let work: string;
let server: ImageServerInfo;
let rsyncd: { port: number; stop(): Promise<void> };
let mark: string;
let disk: Loop | undefined;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'si-hostile-test-'));
  server = await makeImageServer(join(work, 'server'));
  mark = join(work, 'PWNED');
  const touch = `touch ${mark}`;
  const long = 'x'.repeat(200_000);
  writeFileSync(join(server.scriptsDir, 'hosts'), `127.0.0.1 $(${touch}) node001\n127.0.0.2 ${long}\n# ${long}\n`);
  writeFileSync(
    join(server.scriptsDir, 'cluster.txt'),
    `# global_override=:\`${touch}\`:\nnode001:compute;${touch}:fixture-image:$(${touch})\nnode001:compute:fixture-image:compute\n${long}:${long}:${long}:${long}\n`,
  );
  writeFileSync(
    join(server.scriptsDir, 'node001.master'),
    [`#!/bin/sh`, `IMAGENAME=$(${touch})`, `[ -z $IMAGENAME ] && IMAGENAME=\`${touch}\``, `DISKORDER=sd; ${touch}`, `eval "${touch}"`, `${touch}`, `IMAGENAME=fixture-image`, `X=${long}`, ''].join('\n'),
  );
  rsyncd = await startRsyncd(server.dir);
});

afterAll(async () => {
  await rsyncd?.stop();
  if (disk) detachLoops([disk]);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('hostile scripts directory', () => {
  it('plan reads it without executing anything and reports the unsafe names', async () => {
    const dir = mkdtempSync(join(work, 'run-'));
    disk = attachLoop(work, 'disk', 600);
    const before = headHash(disk.dev);
    const r = await runAgent(
      ['plan', '--json', '--disk', disk.dev, '--cmdline', 'IMAGESERVER=127.0.0.1 HOSTNAME=node001', '--local-cfg', '/dev/null', '--rsync-port', String(rsyncd.port), '--workdir', join(dir, 'work'), '--log', join(dir, 'si.log')],
      { env: { SI_TMP: dir } },
    );
    expect(existsSync(mark)).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    expect(headHash(disk.dev)).toBe(before);
    const plan = JSON.parse(r.stdout) as { parameters: Record<string, { value: string; source: string }>; plan: { image: string; overrides: string[]; groups: string[] } };
    expect(plan.plan.image).toBe('fixture-image');
    expect(plan.parameters.IMAGENAME!.source).toMatch(/^script:node001\.master:/);
    // Only safe names survive: the hostile group and overrides are dropped and said so.
    expect(plan.plan.groups).toEqual(['compute']);
    for (const o of plan.plan.overrides) expect(o).toMatch(/^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/);
    expect(r.stderr).toMatch(/not a safe name/);
    expect(r.stderr).toMatch(/command substitution|not run|skipped/i);
  });
});
