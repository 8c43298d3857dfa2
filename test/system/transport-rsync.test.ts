// System test (root): the rsync transport against a real rsync daemon serving the fixture image server on 127.0.0.1.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SiError } from '../../agent/errors.js';
import { applyOverrides, listModules, notifyImagingComplete, rsyncFetch, rsyncImage, stageViaTmpfs } from '../../agent/transport/rsync/rsync.js';
import { listImageBytes } from '../../agent/transport/rsync/size.js';
import { findFreePort, makeImageServer, startRsyncd, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { compareTrees } from '../helpers/compare-trees.js';
import { mountExt4Loop, mountMemoryFs, type ScratchFs } from '../helpers/scratch-fs.js';
import { makeCollectingCtx } from '../helpers/transport-ctx.js';

const HOST = '127.0.0.1';
let work = '';
let info: ImageServerInfo;
let daemon: { port: number; stop(): Promise<void> } | undefined;
let target: ScratchFs | undefined;
const mounts: ScratchFs[] = [];

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'si-transport-'));
  info = await makeImageServer(path.join(work, 'server'));
  daemon = await startRsyncd(info.dir);
  // A fresh ext4 as the target, as on a real client: it has its own lost+found, keeps xattrs, ACLs and devices.
  target = mountExt4Loop(work, 'target');
});

afterAll(async () => {
  await daemon?.stop();
  for (const m of mounts) m.cleanup();
  target?.cleanup();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

function freshDir(name: string): string {
  const d = path.join(target!.dir, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

describe('rsyncImage', () => {
  it('lays the image down identical to the server tree, with progress up to 100%', async () => {
    const ctx = makeCollectingCtx();
    const res = await rsyncImage(ctx, { server: HOST, port: daemon!.port, module: info.imageName, dest: target!.dir });
    expect(res.xattrsKept).toBe(true);
    expect(res.bytes).toBeGreaterThan(5 * 1024 * 1024);
    expect(await compareTrees(info.imageDir, target!.dir, { ignore: info.excludedPaths })).toEqual([]);
    // SPEC 7 excludes: the image's /proc contents and lost+found stay behind; the target's own lost+found is untouched.
    expect(fs.existsSync(path.join(target!.dir, 'proc'))).toBe(true);
    expect(fs.readdirSync(path.join(target!.dir, 'proc'))).toEqual([]);
    expect(fs.readdirSync(path.join(target!.dir, 'lost+found'))).toEqual([]);
    expect(execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'user.si_test', path.join(target!.dir, 'etc/xattr-file')], { encoding: 'utf8' })).toBe('fixture-value');
    const progress = ctx.of('progress');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.every((p) => p.phase === 'image')).toBe(true);
    const percents = progress.map((p) => p.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(percents.at(-1)).toBe(100);
    expect(progress.at(-1)!.bytesTotal).toBeGreaterThan(64 * 1024 * 1024); // apparent size, sparse file included
  });

  it('with the size known from the listing, copies without listing the whole image first and counts progress against it', async () => {
    const total = await listImageBytes(makeCollectingCtx(), HOST, daemon!.port, info.imageName, work);
    expect(total).toBeGreaterThan(64 * 1024 * 1024);
    const dest = freshDir('known-total');
    const ctx = makeCollectingCtx();
    await rsyncImage(ctx, { server: HOST, port: daemon!.port, module: info.imageName, dest, totalBytes: total! });
    expect(await compareTrees(info.imageDir, dest, { ignore: info.excludedPaths })).toEqual([]);
    expect(ctx.of('command').find((c) => c.argv.includes('--info=progress2'))!.argv).not.toContain('--no-inc-recursive');
    const progress = ctx.of('progress');
    const percents = progress.map((p) => p.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(percents.at(-1)).toBe(100);
    expect(progress.slice(0, -1).every((p) => p.bytesTotal === total && p.percent === Math.min(99, Math.floor((p.bytesDone * 100) / total!)))).toBe(true);
  });

  it('calls onProgress instead of the reporter when given, and a second run with deleteExtra removes strays only', async () => {
    const stray = path.join(target!.dir, 'etc/stray-file');
    fs.writeFileSync(stray, 'not in the image\n');
    const ctx = makeCollectingCtx();
    const seen: number[] = [];
    await rsyncImage(ctx, { server: HOST, port: daemon!.port, module: info.imageName, dest: target!.dir, deleteExtra: true, onProgress: (p) => seen.push(p.percent) });
    expect(seen.at(-1)).toBe(100);
    expect(ctx.of('progress')).toEqual([]);
    expect(fs.existsSync(stray)).toBe(false);
    expect(fs.existsSync(path.join(target!.dir, 'lost+found'))).toBe(true);
  });

  it("'auto' falls back without -AX when the target cannot keep xattrs/ACLs (ramfs), and says so", async () => {
    const ram = mountMemoryFs(work, 'ramfs', 'ramfs');
    mounts.push(ram);
    const ctx = makeCollectingCtx();
    const res = await rsyncImage(ctx, { server: HOST, port: daemon!.port, module: info.imageName, dest: ram.dir });
    expect(res.xattrsKept).toBe(false);
    expect(ctx.logs('warn').join('\n')).toMatch(/could not be kept/);
    const diffs = await compareTrees(info.imageDir, ram.dir, { ignore: info.excludedPaths });
    expect(diffs.filter((d) => !/: (xattrs|acl|mode) /.test(d))).toEqual([]);
    await expect(rsyncImage(makeCollectingCtx(), { server: HOST, port: daemon!.port, module: info.imageName, dest: ram.dir, xattrs: true })).rejects.toThrow(/exit code 23/);
  });

  it('names the modules the server offers when the image module does not exist', async () => {
    const ctx = makeCollectingCtx({ baseMs: 10 });
    const err = await rsyncImage(ctx, { server: HOST, port: daemon!.port, module: 'no-such-image', dest: freshDir('unknown') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiError);
    expect((err as SiError).code).toBe('E_SERVER');
    expect((err as Error).message).toMatch(/no rsync module "no-such-image"; it offers: scripts, overrides, fixture-image, boot/);
    expect(ctx.of('retry')).toEqual([]);
  });
});

describe('applyOverrides', () => {
  it('applies global, group and host overrides in order; a missing one is a warning', async () => {
    const dest = freshDir('ovr');
    await rsyncImage(makeCollectingCtx(), { server: HOST, port: daemon!.port, module: info.imageName, dest });
    const ctx = makeCollectingCtx();
    const r = await applyOverrides(ctx, { server: HOST, port: daemon!.port, names: ['global_ovr', 'compute', 'fixture-image', 'node001'], dest });
    expect(r).toEqual({ applied: ['global_ovr', 'compute', 'node001'], missing: ['fixture-image'] });
    expect(ctx.logs('warn').join('\n')).toMatch(/override fixture-image does not exist/);
    // One daemon connection for all of them, the most important first.
    const runs = ctx.of('command').filter((e) => e.argv[0]!.endsWith('rsync'));
    expect(runs).toHaveLength(1);
    expect(runs[0]!.argv.filter((a) => a.startsWith('rsync://')).map((u) => u.split('/overrides/')[1])).toEqual(['node001/', 'fixture-image/', 'compute/', 'global_ovr/']);
    const read = (p: string) => fs.readFileSync(path.join(dest, p), 'utf8');
    expect(read('etc/motd')).toBe('node001 motd\n'); // host wins over group and global
    expect(read('etc/shared-gc')).toBe('compute\n'); // group wins over global
    expect(fs.statSync(path.join(dest, 'etc/shared-gc')).mode & 0o7777).toBe(0o600);
    for (const m of ['global_ovr', 'compute', 'node001']) expect(read(`etc/${m}-marker`)).toBe(`${m}\n`);
    expect(read('root/node001-only')).toBe('host\n');
    expect(read('etc/hostname')).toBe('golden-client\n'); // image files no override touches stay
  });

  it('does not take a real failure for a missing override', async () => {
    const dest = freshDir('ovr-broken');
    const etc = path.join(dest, 'etc');
    fs.mkdirSync(etc);
    execFileSync('chattr', ['+i', etc]); // nothing may be created in it, not even by root: the receiver fails, exit 23
    const err = await applyOverrides(makeCollectingCtx(), { server: HOST, port: daemon!.port, names: ['global_ovr'], dest })
      .catch((e: unknown) => e)
      .finally(() => execFileSync('chattr', ['-i', etc]));
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/applying override global_ovr: .*rsync failed with exit code 23/);
  });

  it('several overrides that fail together are applied one by one, naming the one that failed', async () => {
    const dest = freshDir('ovr-broken-several');
    const etc = path.join(dest, 'etc');
    fs.mkdirSync(etc);
    execFileSync('chattr', ['+i', etc]);
    const ctx = makeCollectingCtx();
    const err = await applyOverrides(ctx, { server: HOST, port: daemon!.port, names: ['fixture-image', 'global_ovr', 'node001'], dest })
      .catch((e: unknown) => e)
      .finally(() => execFileSync('chattr', ['-i', etc]));
    expect((err as Error).message).toMatch(/applying override global_ovr: .*rsync failed with exit code 23/);
    expect(ctx.logs('warn').join('\n')).toMatch(/override fixture-image does not exist/);
  });

  it('refuses unsafe override names before running anything', async () => {
    const ctx = makeCollectingCtx();
    for (const bad of ['../etc', '-rf', '.hidden', 'a/b', '']) {
      await expect(applyOverrides(ctx, { server: HOST, port: daemon!.port, names: [bad], dest: freshDir('never') })).rejects.toThrow(/refusing override name/);
    }
    expect(ctx.of('command')).toEqual([]);
  });
});

describe('rsyncFetch, listModules, notifyImagingComplete', () => {
  it('fetches the scripts module and a single file of the image', async () => {
    const ctx = makeCollectingCtx();
    const scripts = path.join(work, 'scripts-copy');
    await rsyncFetch(ctx, { server: HOST, port: daemon!.port, src: 'scripts/', dest: scripts + '/' });
    expect(fs.readFileSync(path.join(scripts, 'hosts'), 'utf8')).toMatch(/^127\.0\.0\.1 node001\.cluster node001$/m);
    expect(fs.readdirSync(path.join(scripts, 'pre-install')).sort()).toEqual(['10all.touch-marker', '10all.touch-marker~']);
    expect(fs.statSync(path.join(scripts, 'post-install/10all.record')).mode & 0o111).not.toBe(0);
    const conf = path.join(work, 'autoinstallscript.conf');
    await rsyncFetch(ctx, { server: HOST, port: daemon!.port, src: `${info.imageName}/etc/systemimager/autoinstallscript.conf`, dest: conf });
    expect(fs.readFileSync(conf, 'utf8')).toBe(fs.readFileSync(path.join(info.imageDir, 'etc/systemimager/autoinstallscript.conf'), 'utf8'));
  });

  it('lists the modules and reports an unknown one with the list', async () => {
    const ctx = makeCollectingCtx();
    expect(await listModules(ctx, HOST, daemon!.port)).toEqual(info.modules);
    await expect(rsyncFetch(ctx, { server: HOST, port: daemon!.port, src: 'scriptz/', dest: path.join(work, 'x') + '/' })).rejects.toThrow(
      /no rsync module "scriptz"; it offers: scripts, overrides, fixture-image, boot/,
    );
  });

  it('retries a server that is down a bounded number of times, then fails clearly', async () => {
    const port = await findFreePort(); // nothing listens there
    const ctx = makeCollectingCtx({ attempts: 4, baseMs: 50, capMs: 200 });
    const started = Date.now();
    const err = await rsyncFetch(ctx, { server: HOST, port, src: 'scripts/', dest: path.join(work, 'down') + '/' }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((err as SiError).code).toBe('E_NETWORK');
    expect((err as Error).message).toMatch(new RegExp(`fetch rsync://127\\.0\\.0\\.1:${port}/scripts/ failed after 4 attempts over [0-9.]+ s: rsync failed with exit code 10`));
    expect((err as SiError).details.join('\n')).toMatch(/Connection refused/);
    expect(ctx.of('retry').map((r) => r.attempt)).toEqual([1, 2, 3]);
  });

  it('tells the server imaging is complete (the request shows in its log); errors are only logged', async () => {
    const ctx = makeCollectingCtx();
    await notifyImagingComplete(ctx, HOST, daemon!.port, '127.0.0.1');
    const deadline = Date.now() + 3000;
    while (!fs.readFileSync(info.logFile, 'utf8').includes('imaging_complete_127.0.0.1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(fs.readFileSync(info.logFile, 'utf8')).toContain('scripts/imaging_complete_127.0.0.1');
    const down = makeCollectingCtx();
    await notifyImagingComplete(down, HOST, await findFreePort(), '127.0.0.1');
    expect(down.logs('warn').join('\n')).toMatch(/could not tell the image server/);
  });
});

describe('stageViaTmpfs', () => {
  it('stages the image in a tmpfs, then copies it to the target unchanged', async () => {
    const tmpfs = mountMemoryFs(work, 'staging', 'tmpfs');
    mounts.push(tmpfs);
    const dest = freshDir('staged');
    const ctx = makeCollectingCtx();
    const r = await stageViaTmpfs(ctx, { server: HOST, port: daemon!.port, module: info.imageName, dest, staging: tmpfs.dir });
    expect(r.bytes).toBeGreaterThan(5 * 1024 * 1024);
    expect(await compareTrees(info.imageDir, dest, { ignore: info.excludedPaths })).toEqual([]);
    expect(ctx.of('progress').at(-1)?.percent).toBe(100);
  });
});
