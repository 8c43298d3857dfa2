// The agent executable as a compressed squashfs image in the initrd, mounted by a small /init, instead of /init itself.
//
// Every initramfs file is held in RAM, unpacked, for as long as the system runs (tmpfs pages cannot be dropped), and
// the kernel refuses to unpack more than half the RAM into it. The agent executable is 105 MiB of the initrd's
// 183 MiB: as a squashfs image (zstd, 1 MiB blocks) it is 23 MB of RAM, its pages are decompressed when first touched
// and are page cache the kernel may drop and read again under memory pressure. /init is then a busybox script that
// loads loop and squashfs, mounts the image read-only and execs the agent as PID 1.

import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { findProgram } from './binaries.ts';
import { $sync } from './zx.ts';

/** Where the image lies in the initrd, where it is mounted, and the agent's path inside it. */
export const AGENT_IMAGE = 'usr/lib/si-agent.sqfs';
export const AGENT_MOUNT = '/opt/si-agent';
export const AGENT_IN_IMAGE = 'si-agent';

/** mksquashfs options: zstd -19 over 1 MiB blocks (128 KiB blocks: 2 MB larger), reproducible (times and owners pinned). */
const MKSQUASHFS_ARGS = ['-comp', 'zstd', '-Xcompression-level', '19', '-b', '1M', '-noappend', '-all-root', '-no-xattrs', '-mkfs-time', '0', '-all-time', '0', '-quiet', '-no-progress'];

/** Modules /init must load for the mount (a kernel with them built in needs none), each after what it depends on. */
const NEEDED = ['loop', 'squashfs'];

/** Module files (relative to the modules directory) to insmod, in order, or null when one is neither staged nor built in. */
export function mountModules(depText: string, builtinText: string, staged: (rel: string) => boolean): string[] | null {
  const deps = new Map<string, string[]>();
  for (const line of depText.split('\n')) {
    const [file, rest] = line.split(':');
    if (file && rest !== undefined) deps.set(moduleName(file), [file, ...rest.trim().split(/\s+/).filter(Boolean)]);
  }
  const builtin = new Set(builtinText.split('\n').filter(Boolean).map(moduleName));
  const order: string[] = [];
  for (const name of NEEDED) {
    if (builtin.has(name)) continue;
    const entry = deps.get(name);
    if (!entry || !entry.every(staged)) return null;
    // modules.dep lists a module's dependencies so that loading them from last to first works.
    for (const f of [...entry.slice(1).reverse(), entry[0]!]) if (!order.includes(f)) order.push(f);
  }
  return order;
}

function moduleName(file: string): string {
  return (file.split('/').pop() ?? '').replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

/** The /init script: mount the agent's image, exec the agent; on failure say so and give the console a shell. */
export function initScript(modulesDir: string, modules: readonly string[]): string {
  return [
    '#!/usr/bin/busybox sh',
    '# si-agent initrd: the agent stays compressed in a squashfs image (read on demand, its pages reclaimable);',
    '# load what the mount needs, mount it read-only and exec the agent as PID 1.',
    'bb=/usr/bin/busybox',
    ...modules.map((m) => `$bb insmod ${modulesDir}/${m}`),
    '[ -e /dev/loop0 ] || $bb mknod /dev/loop0 b 7 0',
    `if $bb losetup -r /dev/loop0 /${AGENT_IMAGE} && $bb mount -t squashfs -o ro /dev/loop0 ${AGENT_MOUNT}; then`,
    // Decompressing the pages Node touches is most of its start: with a second CPU, a reader decompresses ahead of it.
    `  [ "$($bb nproc)" -gt 1 ] && $bb cat ${AGENT_MOUNT}/${AGENT_IN_IMAGE} >/dev/null 2>&1 &`,
    `  exec ${AGENT_MOUNT}/${AGENT_IN_IMAGE} "$@"`,
    'fi',
    `echo "si-agent: cannot mount /${AGENT_IMAGE} on ${AGENT_MOUNT}; a shell instead" >&2`,
    'exec $bb sh',
    '',
  ].join('\n');
}

/** The squashfs image of the agent, from cacheDir (keyed by the agent's sha256 and mksquashfs's version) or made now. */
function agentImage(agent: string, dest: string, cacheDir?: string): void {
  const version = $sync()`mksquashfs -version`.stdout.split('\n')[0]!.trim();
  const key = createHash('sha256').update(`${version}\0${MKSQUASHFS_ARGS.join(' ')}\0`).update(readFileSync(agent)).digest('hex').slice(0, 32);
  const cached = cacheDir ? join(cacheDir, `agent-${key}.sqfs`) : '';
  if (cached && existsSync(cached)) {
    const now = new Date();
    utimesSync(cached, now, now);
    copyFileSync(cached, dest);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'si-agent-image.'));
  try {
    const src = join(work, 'src');
    mkdirSync(src);
    copyFileSync(agent, join(src, AGENT_IN_IMAGE));
    chmodSync(join(src, AGENT_IN_IMAGE), 0o755);
    $sync()`mksquashfs ${src} ${dest} ${MKSQUASHFS_ARGS}`;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (!cached) return;
  // Cached under a name of its own and renamed: builds running at the same time never read half an image.
  mkdirSync(cacheDir!, { recursive: true });
  const tmp = `${cached}.${process.pid}.tmp`;
  copyFileSync(dest, tmp);
  renameSync(tmp, cached);
}

/**
 * Stages the agent as a squashfs image with a mounting /init when this kernel and host can (mksquashfs present, loop
 * and squashfs staged or built in); returns false (nothing staged) otherwise, and the agent is then /init itself.
 */
export function stageAgentImage(root: string, kernelVersion: string, agent: string, cacheDir?: string): boolean {
  if (!findProgram('mksquashfs')) return false;
  const modDir = join(root, 'usr/lib/modules', kernelVersion);
  const read = (f: string) => (existsSync(join(modDir, f)) ? readFileSync(join(modDir, f), 'utf8') : '');
  const modules = mountModules(read('modules.dep'), read('modules.builtin'), (rel) => existsSync(join(modDir, rel)));
  if (!modules) return false;
  const image = join(root, AGENT_IMAGE);
  mkdirSync(dirname(image), { recursive: true });
  agentImage(agent, image, cacheDir);
  mkdirSync(join(root, AGENT_MOUNT.slice(1)), { recursive: true });
  writeFileSync(join(root, 'init'), initScript(`/usr/lib/modules/${kernelVersion}`, modules));
  chmodSync(join(root, 'init'), 0o755);
  return true;
}
