// New SSH host keys made ahead: the image's ssh-keygen runs as soon as the image is down, into a private prefix in the
// target, while overrides and configuration go on; the keys move into /etc/ssh where the clone identity is reset.

import { lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { applyFileChanges, type FileChange } from './file-changes.js';
import { isHostKeyName, sshKeygenArgv } from './clone-identity.js';
import { runInTarget, type TargetCtx } from './target-ctx.js';
import { findProgram, readTargetView } from './target-view.js';

/**
 * Where the early keys are made, inside the target: `ssh-keygen -A -f PREFIX` writes PREFIX/etc/ssh/ssh_host_*_key.
 * In /etc/ssh itself, so the keys move into place by rename, on the same filesystem.
 */
export const KEYGEN_PREFIX = '/etc/ssh/.si-agent-host-keys';

/** ssh-keygen -A at work on a target; `done` never rejects. */
export interface EarlyKeygen {
  done: Promise<{ ok: true } | { ok: false; why: string }>;
  /** Stops it (the flow failed or ended first). */
  abort(): void;
}

/** True when the path in the target is a real directory, not a symlink that could lead out of it. */
function isRealDir(root: string, path: string): boolean {
  try {
    return lstatSync(join(root, path)).isDirectory();
  } catch {
    return false;
  }
}

/** True when the image needs new host keys: it has ssh-keygen and host keys or an SSH server. */
export function needsHostKeys(root: string): string[] | undefined {
  const view = readTargetView(root);
  const keygen = sshKeygenArgv(view);
  if (!keygen) return undefined;
  return view.list('/etc/ssh').some(isHostKeyName) || findProgram(view, 'sshd') ? keygen : undefined;
}

/** Options of startEarlyKeygen. */
export interface EarlyKeygenOptions {
  /**
   * Resolves once the image is laid down. Until then ssh-keygen is tried every tryEveryMs, as soon as it is in the
   * target (a try fails quickly while a library it needs has not arrived); then once more if no try has worked yet.
   * Only for a copy that puts each file in place whole (rsync renames a finished file into place). Absent: the image
   * is down, one try now.
   */
  imageDown?: Promise<unknown>;
  tryEveryMs?: number;
}

/**
 * Starts the image's `ssh-keygen -A -f PREFIX` in the target, chrooted (no /dev, /proc or /sys bound: the image's
 * own /dev must do). An older ssh-keygen whose -A ignores -f writes missing key types into /etc/ssh itself: those go
 * with the golden client's keys, the prefix holds none, placeEarlyHostKeys says so and the keys are made the usual
 * way, as when no try works (or the image needs no keys, or its /etc/ssh is not a plain directory).
 */
export function startEarlyKeygen(t: TargetCtx, opts: EarlyKeygenOptions = {}): EarlyKeygen {
  const stop = new AbortController();
  const signal = t.signal ? AbortSignal.any([t.signal, stop.signal]) : stop.signal;
  let down = opts.imageDown === undefined;
  // An image that was not laid down ends the tries: the install has failed.
  const imageDown = (opts.imageDown ?? Promise.resolve()).then(
    () => void (down = true),
    () => stop.abort(),
  );
  type Result = { ok: true } | { ok: false; why: string };
  // A try: undefined when there is nothing to run yet (no ssh-keygen in the target so far, or no need for keys).
  const tryOnce = async (final: boolean): Promise<Result | undefined> => {
    const keygen = needsHostKeys(t.sysroot);
    if (!keygen || !isRealDir(t.sysroot, '/etc') || !isRealDir(t.sysroot, '/etc/ssh')) return undefined;
    const prefix = join(t.sysroot, KEYGEN_PREFIX);
    rmSync(prefix, { recursive: true, force: true });
    mkdirSync(join(prefix, 'etc/ssh'), { recursive: true, mode: 0o700 });
    try {
      // Tries while the image is still coming are logged at debug level: the first ones may fail, as expected.
      await runInTarget({ ...t, signal }, [...keygen, '-f', KEYGEN_PREFIX], { timeout: 5 * 60 * 1000, quiet: !final });
      return { ok: true };
    } catch (err) {
      return { ok: false, why: (err as Error).message.split('\n')[0]! };
    }
  };
  const done = (async (): Promise<Result> => {
    for (;;) {
      const final = down;
      if (signal.aborted) return { ok: false, why: 'stopped' };
      const r = await tryOnce(final);
      if (r?.ok || final || signal.aborted) return r ?? { ok: false, why: 'the image needs no new host keys, or its /etc/ssh is not a directory' };
      if (r) t.report.debug(`SSH host keys ahead: not yet, the image is still coming (${r.why}); trying again`);
      await Promise.race([imageDown, new Promise((res) => setTimeout(res, opts.tryEveryMs ?? 500).unref())]);
    }
  })();
  return { done, abort: () => stop.abort() };
}

/**
 * Waits for the early keygen and moves the keys it made into /etc/ssh (the golden client's must be gone by then);
 * the prefix goes in any case. Returns the key files moved, or [] when there were none (the caller makes them).
 */
export async function placeEarlyHostKeys(t: TargetCtx, job: EarlyKeygen): Promise<string[]> {
  const r = await job.done;
  const made = join(t.sysroot, KEYGEN_PREFIX, 'etc/ssh');
  try {
    if (!r.ok) {
      t.report.debug(`host keys made ahead: none (${r.why})`);
      return [];
    }
    const keys = isRealDir(t.sysroot, `${KEYGEN_PREFIX}/etc/ssh`) ? readdirSync(made).filter(isHostKeyName).sort() : [];
    if (keys.length === 0) t.report.debug(`host keys made ahead: none in ${KEYGEN_PREFIX} (an ssh-keygen older than -A -f)`);
    const moves: FileChange[] = keys.map((k) => ({ kind: 'rename', path: `${KEYGEN_PREFIX}/etc/ssh/${k}`, to: `/etc/ssh/${k}` }));
    applyFileChanges(t.sysroot, moves);
    return keys;
  } finally {
    rmSync(join(t.sysroot, KEYGEN_PREFIX), { recursive: true, force: true });
  }
}
