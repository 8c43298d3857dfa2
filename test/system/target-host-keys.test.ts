// SSH host keys of a cloned Debian (root): made ahead by the image's ssh-keygen while the install goes on, or made
// in place when that did not work; either way fresh keys of exactly the types that ssh-keygen makes by default.

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRunner } from '../../agent/exec/runner.js';
import { Reporter, type SiEvent } from '../../agent/report/events.js';
import { resetCloneIdentity } from '../../agent/target/configure-target.js';
import { KEYGEN_PREFIX, startEarlyKeygen, type EarlyKeygen } from '../../agent/target/host-keys.js';
import type { TargetCtx } from '../../agent/target/target-ctx.js';
import { debianRoot } from './lib/debian-root.js';

const isRoot = process.getuid?.() === 0;
const sh = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** A writable copy of the Debian root (overlayfs over the cache, which stays untouched). */
function overlayOf(lower: string): { root: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'si-hostkeys-'));
  const root = join(dir, 'root');
  for (const d of ['upper', 'work', 'root']) mkdirSync(join(dir, d));
  sh('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`, root]);
  return {
    root,
    remove() {
      spawnSync('umount', ['-l', root]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const hostKeys = (root: string) => readdirSync(join(root, 'etc/ssh')).filter((f) => /^ssh_host_.*_key(\.pub)?$/.test(f)).sort();

/** The key files the image's ssh-keygen makes by default, found by running it into an empty prefix of a copy. */
function defaultKeyFiles(lower: string): string[] {
  const o = overlayOf(lower);
  try {
    mkdirSync(join(o.root, 'tmp/expect/etc/ssh'), { recursive: true });
    sh('chroot', [o.root, 'ssh-keygen', '-A', '-f', '/tmp/expect']);
    return readdirSync(join(o.root, 'tmp/expect/etc/ssh')).sort();
  } finally {
    o.remove();
  }
}

function targetCtx(root: string): TargetCtx & { events: SiEvent[] } {
  const report = new Reporter();
  const events: SiEvent[] = [];
  report.addSink((e) => events.push(e));
  return { run: createRunner(report), report, sysroot: root, events };
}

/** Every host key fresh (not the golden client's), private keys 0600 and matching their public halves. */
function expectFreshKeys(root: string, golden: Map<string, string>, expected: string[]): void {
  expect(hostKeys(root)).toEqual(expected);
  for (const f of expected) {
    expect(readFileSync(join(root, 'etc/ssh', f), 'utf8')).not.toBe(golden.get(f));
    if (f.endsWith('.pub')) continue;
    expect(statSync(join(root, 'etc/ssh', f)).mode & 0o777).toBe(0o600);
    const pub = sh('chroot', [root, 'ssh-keygen', '-y', '-f', `/etc/ssh/${f}`]).trim().split(' ').slice(0, 2).join(' ');
    expect(readFileSync(join(root, 'etc/ssh', `${f}.pub`), 'utf8').trim().split(' ').slice(0, 2).join(' ')).toBe(pub);
  }
  expect(existsSync(join(root, KEYGEN_PREFIX))).toBe(false);
}

describe.skipIf(!isRoot)('SSH host keys of a cloned Debian (root)', () => {
  let cache: { root?: string; why?: string } = {};
  let expected: string[] = [];
  const golden = new Map<string, string>();
  let target: { root: string; remove(): void } | undefined;
  beforeAll(() => {
    cache = debianRoot();
    if (cache.why) return void console.warn(`target-host-keys: skipped: ${cache.why}`);
    expected = defaultKeyFiles(cache.root!);
    for (const f of hostKeys(cache.root!)) golden.set(f, readFileSync(join(cache.root!, 'etc/ssh', f), 'utf8'));
  }, 20 * 60 * 1000);
  afterEach(() => {
    target?.remove();
    target = undefined;
  });

  it('made ahead: the early ssh-keygen writes into its prefix only; the reset moves its keys in place of the golden ones', async (t) => {
    if (!cache.root) return t.skip();
    expect(expected.length).toBeGreaterThanOrEqual(2);
    expect([...golden.keys()].length).toBeGreaterThan(0);
    target = overlayOf(cache.root);
    const ctx = targetCtx(target.root);
    const job = startEarlyKeygen(ctx)!;
    expect(job).toBeDefined();
    expect((await job.done).ok).toBe(true);
    // Until the reset, /etc/ssh still holds the golden keys: nothing was written there.
    for (const [f, text] of golden) expect(readFileSync(join(target.root, 'etc/ssh', f), 'utf8')).toBe(text);
    await resetCloneIdentity(ctx, job);
    expectFreshKeys(target.root, golden, expected);
    const chroots = ctx.events.filter((e) => e.type === 'command' && e.argv.includes('-A'));
    expect(chroots).toHaveLength(1); // the early run only, no second ssh-keygen
    expect(ctx.events.some((e) => e.type === 'log' && /made ahead/.test(e.message))).toBe(true);
  }, 120_000);

  it('while the image still comes: tries fail until what ssh-keygen needs has arrived, then one works before the copy ends', async (t) => {
    if (!cache.root) return t.skip();
    target = overlayOf(cache.root);
    const lib = join(target.root, 'usr/lib/x86_64-linux-gnu/libcrypto.so.3');
    renameSync(lib, `${lib}.not-yet`);
    const ctx = targetCtx(target.root);
    let laidDown = () => undefined as void;
    const job = startEarlyKeygen(ctx, { imageDown: new Promise<void>((r) => (laidDown = r)), tryEveryMs: 30 });
    let settled = false;
    void job.done.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false); // ssh-keygen cannot load without libcrypto: tried, failed, tried again
    renameSync(`${lib}.not-yet`, lib);
    expect(await job.done).toEqual({ ok: true }); // before the image is down
    laidDown();
    await resetCloneIdentity(ctx, job);
    expectFreshKeys(target.root, golden, expected);
    // The failed tries were quiet (debug), the one that worked too: none is a command event of its own.
    expect(ctx.events.filter((e) => e.type === 'log' && e.level === 'debug' && /run: chroot .* -A -f/.test(e.message)).length).toBeGreaterThan(2);
  }, 120_000);

  it('an image that was not laid down ends the tries', async (t) => {
    if (!cache.root) return t.skip();
    target = overlayOf(cache.root);
    const ctx = targetCtx(target.root);
    chmodSync(join(target.root, 'usr/bin/ssh-keygen'), 0o644);
    let failed = (_: Error) => undefined as void;
    const job = startEarlyKeygen(ctx, { imageDown: new Promise<void>((_, rej) => (failed = rej)), tryEveryMs: 30 });
    await new Promise((r) => setTimeout(r, 100));
    failed(new Error('image not laid down'));
    expect(await job.done).toMatchObject({ ok: false });
  }, 120_000);

  it('an early run that made nothing (an ssh-keygen whose -A ignores -f) or failed: the keys are made in place', async (t) => {
    if (!cache.root) return t.skip();
    for (const early of [
      { done: Promise.resolve({ ok: true as const }), abort: () => undefined },
      { done: Promise.resolve({ ok: false as const, why: 'ssh-keygen failed with exit code 1' }), abort: () => undefined },
    ] satisfies EarlyKeygen[]) {
      target = overlayOf(cache.root);
      mkdirSync(join(target.root, KEYGEN_PREFIX, 'etc/ssh'), { recursive: true });
      const ctx = targetCtx(target.root);
      await resetCloneIdentity(ctx, early);
      expectFreshKeys(target.root, golden, expected);
      target.remove();
      target = undefined;
    }
  }, 120_000);

  it('the early run is stopped when asked, and a keygen that cannot run fails the reset naming it', async (t) => {
    if (!cache.root) return t.skip();
    target = overlayOf(cache.root);
    const ctx = targetCtx(target.root);
    const job = startEarlyKeygen(ctx)!;
    job.abort();
    expect((await job.done).ok).toBe(false);
    chmodSync(join(target.root, 'usr/bin/ssh-keygen'), 0o644);
    await expect(resetCloneIdentity(ctx, job)).rejects.toMatchObject({ message: expect.stringMatching(/regenerating SSH host keys/) });
    expect(hostKeys(target.root)).toEqual([]); // the golden keys are gone all the same
    expect(existsSync(join(target.root, KEYGEN_PREFIX))).toBe(false);
  }, 120_000);
});
