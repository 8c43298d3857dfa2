// Runs the target's own GRUB tools: directly on a live system, chrooted (with /dev /proc /sys bound) for --root DIR.

import { existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Runner, RunResult } from '../exec/runner.js';
import type { Reporter } from '../report/events.js';
import { CHROOT_ENV } from '../target/target-ctx.js';
import { ensureUuidLinks } from '../target/uuid-links.js';

export interface TargetTools {
  /** Runs argv (a program of the target) in the target. */
  run(argv: readonly string[]): Promise<RunResult>;
  /** Unbinds what was bound; safe to call twice. */
  close(): Promise<void>;
}

/** The mount (device, mount point, type) holding a path, from /proc/self/mounts: the longest mount point above it. */
export function mountOf(path: string, mountsText = readFileSync('/proc/self/mounts', 'utf8')): { device: string; mp: string; fs: string } | undefined {
  const p = resolve(path);
  let best: { device: string; mp: string; fs: string } | undefined;
  for (const l of mountsText.split('\n')) {
    const [device, rawMp, fs] = l.split(' ');
    if (!device || !rawMp || !fs) continue;
    const mp = rawMp.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if ((p === mp || p.startsWith(mp === '/' ? '/' : mp + '/')) && (!best || mp.length >= best.mp.length)) best = { device, mp, fs };
  }
  return best;
}

/** Tools for the target at root: no chroot for `/`; for another root, binds and by-uuid links GRUB needs, undone by close(). */
export async function openTargetTools(run: Runner, report: Reporter, root: string): Promise<TargetTools> {
  const timeout = 15 * 60 * 1000;
  if (resolve(root) === '/') {
    return { run: (argv) => run(argv[0]!, argv.slice(1), { env: { ...process.env, ...CHROOT_ENV }, timeout }), close: async () => {} };
  }
  const bound: string[] = [];
  const made: string[] = [];
  let undoLinks = () => {};
  const close = async () => {
    undoLinks();
    undoLinks = () => {};
    for (const t of bound.splice(0).reverse()) await run('umount', ['-l', t], { allowFail: true });
    for (const t of made.splice(0).reverse()) rmdirSync(t);
  };
  try {
    for (const d of ['dev', 'proc', 'sys']) {
      const target = join(root, d);
      if (!existsSync(target)) {
        mkdirSync(target);
        made.push(target);
      }
      await run('mount', ['--bind', `/${d}`, target]);
      bound.push(target);
    }
    const devices = [mountOf(root), mountOf(join(root, 'boot'))].filter((m) => m?.device.startsWith('/dev/')).map((m) => m!.device);
    undoLinks = await ensureUuidLinks(run, join(root, 'dev'), devices);
  } catch (err) {
    await close();
    throw err;
  }
  report.debug(`target tools run chrooted in ${root}`);
  return { run: (argv) => run('chroot', [root, ...argv], { env: { ...CHROOT_ENV }, cwd: '/', timeout }), close };
}
