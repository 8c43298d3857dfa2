// System test (root: loop devices, mkfs, mount): local.cfg from LAST_ROOT (ext4 by UUID and LABEL) and from removable
// media (SPEC 2), their sources, precedence against the initrd's /local.cfg and the command line, SKIP_LOCAL_CFG, and
// `plan --json` naming the source. This host's kernel has no vfat and no iso9660, so the removable case here is an ext4
// stick (a loop device that a fake sysfs under SI_ROOT calls removable); vfat removable media is proven in QEMU
// (test/boot/stage-reinstall.test.ts).

import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunner } from '../../agent/exec/runner.js';
import { Reporter, type SiEvent } from '../../agent/report/events.js';
import { type Ctx, type Mode, newFlowState } from '../../agent/steps/context.js';
import { readParametersStep } from '../../agent/steps/parameters.js';
import { makeImageServer, startRsyncd } from '../../fixtures/image-server/make-image-server.js';
import { runAgent } from './lib/agent.js';
import { attachLoop, detachLoops, type Loop } from './lib/loops.js';

const isRoot = process.getuid?.() === 0;
const run = createRunner(null);

/** Makes an ext4 on the loop with local.cfg (when given) at its root; returns its UUID. */
async function makeFs(dev: string, label: string, cfg: string | undefined, work: string): Promise<string> {
  await run('mkfs.ext4', ['-q', '-F', '-L', label, dev]);
  if (cfg !== undefined) {
    const mnt = mkdtempSync(join(work, 'mnt-'));
    await run('mount', [dev, mnt]);
    writeFileSync(join(mnt, 'local.cfg'), cfg);
    await run('umount', [mnt]);
    rmSync(mnt, { recursive: true });
  }
  return (await run('blkid', ['-p', '-s', 'UUID', '-o', 'value', dev])).stdout.trim();
}

const mountedDevices = () => readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[0]);

describe.skipIf(!isRoot)('local.cfg from LAST_ROOT and removable media (root, loop devices)', () => {
  let work: string;
  const loops: Loop[] = [];
  let root: Loop, stick: Loop, rootUuid: string;
  const savedRoot = process.env.SI_ROOT;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'si-localcfg-'));
    root = attachLoop(work, 'lastroot', 64);
    stick = attachLoop(work, 'stick', 64);
    loops.push(root, stick);
    rootUuid = await makeFs(root.dev, 'siroot', '# written by si-agent stage\nHOSTNAME=from-lastroot\nIPADDR=10.88.0.5\nGATEWAY=10.88.0.1\n', work);
    await makeFs(stick.dev, 'SISTICK', 'HOSTNAME=from-stick\nMONITOR_SERVER=10.88.0.9\n', work);
  }, 60_000);
  afterAll(() => {
    if (savedRoot === undefined) delete process.env.SI_ROOT;
    else process.env.SI_ROOT = savedRoot;
    detachLoops(loops);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** A fake initrd root for SI_ROOT: /local.cfg when given, and a sysfs saying which loops are removable. */
  const fakeRoot = (initrdCfg: string | undefined, removable: Loop[]) => {
    const dir = mkdtempSync(join(work, 'siroot-'));
    if (initrdCfg !== undefined) writeFileSync(join(dir, 'local.cfg'), initrdCfg);
    for (const l of removable) {
      const b = join(dir, 'sys/block', basename(l.dev));
      mkdirSync(b, { recursive: true });
      writeFileSync(join(b, 'removable'), '1\n');
      writeFileSync(join(b, 'size'), `${64 * 2048}\n`);
    }
    mkdirSync(join(dir, 'tmp'));
    symlinkSync('/proc', join(dir, 'proc'));
    return dir;
  };

  /** Runs the read-parameters step as the given mode would, with SI_ROOT at the fake root. */
  const readParams = async (cmdline: string, siRoot: string, mode: Mode = 'init') => {
    process.env.SI_ROOT = siRoot;
    const report = new Reporter();
    const events: SiEvent[] = [];
    report.addSink((e) => events.push(e));
    const ctx: Ctx = {
      opts: { mode, cmdlineText: cmdline, localCfgFiles: null, disks: [], sysroot: join(siRoot, 'sysroot'), workdir: join(siRoot, 'tmp'), network: false, performPostAction: false, rsyncPort: 873 },
      run: createRunner(report), report, signal: new AbortController().signal, params: new Map(), state: newFlowState(),
    };
    await readParametersStep.run(ctx);
    const text = events.map((e) => ('message' in e ? String(e.message) : '')).join('\n');
    return { params: ctx.params, files: ctx.state.localCfgs.map((c) => c.file), log: text };
  };

  it('LAST_ROOT=UUID=: values come from its /local.cfg with sources naming the device and line; cmdline still wins; nothing stays mounted', async () => {
    const r = await readParams(`LAST_ROOT=UUID=${rootUuid} GATEWAY=10.88.0.254`, fakeRoot(undefined, []));
    expect(r.params.get('HOSTNAME')).toEqual({ value: 'from-lastroot', source: `local.cfg:LAST_ROOT:${root.dev}:2` });
    expect(r.params.get('IPADDR')).toEqual({ value: '10.88.0.5', source: `local.cfg:LAST_ROOT:${root.dev}:3` });
    expect(r.params.get('GATEWAY')).toEqual({ value: '10.88.0.254', source: 'cmdline' });
    expect(r.files).toEqual([`LAST_ROOT:${root.dev}`]);
    expect(mountedDevices()).not.toContain(root.dev);
  });

  it('LAST_ROOT=LABEL= and a device path work too; a LAST_ROOT that names nothing is a warning, not a failure', async () => {
    const byLabel = await readParams('LAST_ROOT=LABEL=siroot', fakeRoot(undefined, []), 'install');
    expect(byLabel.params.get('HOSTNAME')?.source).toBe(`local.cfg:LAST_ROOT:${root.dev}:2`);
    const byPath = await readParams(`LAST_ROOT=${root.dev}`, fakeRoot(undefined, []), 'install');
    expect(byPath.params.get('HOSTNAME')?.value).toBe('from-lastroot');
    const missing = await readParams('LAST_ROOT=UUID=00000000-dead-beef-0000-000000000000 HOSTNAME=plain', fakeRoot(undefined, []), 'install');
    expect(missing.params.get('HOSTNAME')).toEqual({ value: 'plain', source: 'cmdline' });
    expect(missing.log).toMatch(/LAST_ROOT=UUID=00000000-dead-beef-0000-000000000000 \(cmdline\): no such device here/);
  });

  it('order: initrd /local.cfg, then LAST_ROOT (named in the initrd one), then removable media; later wins, cmdline last', async () => {
    const initrd = `LAST_ROOT=UUID=${rootUuid}\nHOSTNAME=from-initrd\nLOG_SERVER=10.88.0.7\n`;
    const r = await readParams('MONITOR_PORT=8200', fakeRoot(initrd, [stick]));
    expect(r.files).toHaveLength(3);
    expect(r.files[1]).toBe(`LAST_ROOT:${root.dev}`);
    expect(r.files[2]).toBe(`removable:${stick.dev}`);
    expect(r.params.get('LOG_SERVER')?.value).toBe('10.88.0.7');
    expect(r.params.get('IPADDR')?.source).toBe(`local.cfg:LAST_ROOT:${root.dev}:3`);
    expect(r.params.get('HOSTNAME')).toEqual({ value: 'from-stick', source: `local.cfg:removable:${stick.dev}:1` });
    expect(r.params.get('MONITOR_SERVER')?.source).toBe(`local.cfg:removable:${stick.dev}:2`);
    expect(r.params.get('MONITOR_PORT')?.source).toBe('cmdline');
    expect(r.log).toContain(`local.cfg found on removable media ${stick.dev}`);
    expect(mountedDevices()).not.toContain(stick.dev);
  });

  it('removable media: only removable or USB devices are looked at, and install/plan leave them alone', async () => {
    const notRemovable = await readParams('', fakeRoot(undefined, []));
    expect(notRemovable.files).toEqual([]);
    const planMode = await readParams('', fakeRoot(undefined, [stick]), 'plan');
    expect(planMode.files).toEqual([]);
  });

  it('SKIP_LOCAL_CFG=y on the command line skips the initrd one, LAST_ROOT and removable media', async () => {
    const siRoot = fakeRoot('HOSTNAME=from-initrd\n', [stick]);
    const r = await readParams(`SKIP_LOCAL_CFG=y LAST_ROOT=UUID=${rootUuid}`, siRoot);
    expect(r.files, 'the initrd one is read (and not applied); no device is looked at').toEqual([join(siRoot, 'local.cfg')]);
    expect(r.params.get('HOSTNAME')).toBeUndefined();
  });

  it('plan --json shows a LAST_ROOT value with its source', async () => {
    const server = await makeImageServer(join(work, 'server'));
    const rsyncd = await startRsyncd(server.dir);
    try {
      const disk = attachLoop(work, 'disk', 600);
      loops.push(disk);
      const dir = mkdtempSync(join(work, 'plan-'));
      // HOSTNAME from LAST_ROOT picks node001's script on the fixture server only if it is node001: say so on the cmdline.
      const r = await runAgent(
        ['plan', '--json', '--disk', disk.dev, '--cmdline', `IMAGESERVER=127.0.0.1 HOSTNAME=node001 LAST_ROOT=UUID=${rootUuid}`, '--rsync-port', String(rsyncd.port),
          '--workdir', join(dir, 'work'), '--log', join(dir, 'si.log')],
        { env: { SI_TMP: dir } },
      );
      expect(r.code, r.stderr).toBe(0);
      const plan = JSON.parse(r.stdout) as { parameters: Record<string, { value: string; source: string }> };
      expect(plan.parameters.IPADDR).toEqual({ value: '10.88.0.5', source: `local.cfg:LAST_ROOT:${root.dev}:3` });
      expect(plan.parameters.HOSTNAME).toEqual({ value: 'node001', source: 'cmdline' });
    } finally {
      await rsyncd.stop();
    }
  }, 120_000);
});
