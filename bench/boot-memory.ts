// Benchmark: the smallest QEMU memory (-m) at which the standard boot package still installs the fixture image
// (power-off reached and the disk holds etc/systemimager/IMAGE_LAST_SYNCED_TO). Needs root, qemu-system-x86_64, socat,
// rsync; TCG. The guest reaches a loopback rsyncd through user networking (restrict=on, guestfwd), as boot-install does.
// Walks a descending list of sizes and stops at the first failure, then bisects between the last success and that
// failure down to BENCH_STEP_MB (default 16; 0 = no bisection). Each attempt prints how it ended (power-off, OOM,
// kernel panic unpacking the initrd, shellout, timeout).
// Usage: node bench/boot-memory.ts [PACKAGE_DIR]   (default: build a fresh package, no ISO, into a temp dir).
// Env: BENCH_SIZES="1024,768,512,384,320,256" BENCH_STEP_MB=16, BENCH_AGENT_IMAGE=y (build with --agent-image), BENCH_SERIAL_DIR (keep each boot's serial log there), BENCH_APPEND (more kernel parameters), BENCH_ROOTFS=tmpfs (without the boot configs' rootfstype=ramfs: the
// kernel's tmpfs rootfs, capped at half the RAM while the initrd unpacks). Last line: `min-memory-mb <N>` (0: none succeeded).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeImageServer, startRsyncd } from '../fixtures/image-server/make-image-server.ts';
import { buildBootPackage } from '../initrd-build/build-package.ts';
import { canBoot } from '../test/boot/package-fixture.ts';
import { bootQemu, SERVER_IP, tailOf } from '../test/boot/qemu.ts';
import { INSTALLER_KERNEL_WORDS } from '../agent/init/installer-kernel-words.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SIZES = (process.env.BENCH_SIZES ?? '1024,768,512,384,320,256').split(',').map((s) => Number(s.trim())).filter((n) => n > 0);
const STEP = Number(process.env.BENCH_STEP_MB ?? 16);
// The boot configs' own words (rootfstype=ramfs), as a machine booted from them gets; BENCH_ROOTFS=tmpfs leaves them out.
const rootfsWords = process.env.BENCH_ROOTFS === 'tmpfs' ? '' : INSTALLER_KERNEL_WORDS.map((w) => `${w} `).join('');
const TIMEOUT_MS = 360_000;

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const quiet = (cmd: string, args: string[]) => {
  try {
    sh(cmd, args);
  } catch {
    /* best effort */
  }
};

interface Attempt {
  mb: number;
  ok: boolean;
  /** One line: how the boot ended. */
  how: string;
  seconds: number;
  initSeconds: number | null;
}

/** Says how a failed boot looked, from the serial log. */
function classify(log: string, timedOut: boolean): string {
  const panic = /Kernel panic - not syncing: ([^\r\n]*)/.exec(log)?.[1]?.trim();
  const unpack = /Initramfs unpacking failed: ([^\r\n]*)/.exec(log)?.[1]?.trim();
  const killed = [...log.matchAll(/Out of memory: Killed process \d+ \(([^)]*)\)/g)].map((m) => m[1]);
  const oomInvoked = [...log.matchAll(/(\S+) invoked oom-killer/g)].map((m) => m[1]);
  const parts: string[] = [];
  if (unpack) parts.push(`initrd unpacking failed: ${unpack}`);
  if (killed.length || oomInvoked.length) parts.push(`OOM: killed ${killed.join(', ') || '?'}${oomInvoked.length ? ` (invoked by ${[...new Set(oomInvoked)].join(', ')})` : ''}`);
  if (panic) parts.push(`kernel panic: ${panic}`);
  if (/si-agent shell #/.test(log)) {
    const failed = /FAILED after [\d.]+s: ([^\r\n]*)/.exec(log)?.[1]?.trim();
    const cannot = /cannot run [^\r\n]*/.exec(log)?.[0]?.trim();
    parts.push(`agent shellout${failed ? `: ${failed}` : ''}${cannot ? ` (${cannot})` : ''}`);
  }
  if (!log.includes('Run /init as init process') && !panic) parts.push('never reached /init');
  if (timedOut) parts.push('timed out');
  if (parts.length === 0) parts.push(`ended without power-off; last line: ${tailOf(log, 1).trim()}`);
  return parts.join('; ');
}

/** Reads IMAGE_LAST_SYNCED_TO from the disk's root partition (p2 in the fixture image's layout), or null. */
function installedImage(disk: string, mnt: string): string | null {
  const loop = sh('losetup', ['-fP', '--show', disk]).trim();
  let mounted = false;
  try {
    quiet('partprobe', [loop]);
    if (!existsSync(`${loop}p2`)) return null;
    mkdirSync(mnt, { recursive: true });
    sh('mount', ['-o', 'ro', `${loop}p2`, mnt]);
    mounted = true;
    const stamp = join(mnt, 'etc/systemimager/IMAGE_LAST_SYNCED_TO');
    return existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : null;
  } catch {
    return null;
  } finally {
    if (mounted) quiet('umount', [mnt]);
    quiet('losetup', ['-d', loop]);
  }
}

if (!canBoot() || !existsSync('/usr/bin/socat')) {
  console.log('boot-memory: needs root, qemu-system-x86_64 and socat; skipped');
  console.log('min-memory-mb 0');
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'si-bench-bootmem.'));
let rsyncd: { port: number; stop(): Promise<void> } | undefined;
try {
  let pkgDir = process.argv[2] ? resolve(process.argv[2]) : '';
  if (!pkgDir) {
    const t0 = Date.now();
    const agentImage = process.env.BENCH_AGENT_IMAGE === 'y';
    const pkg = await buildBootPackage({ projectDir: ROOT, out: join(work, 'pkg'), flavor: 'standard', append: 'console=ttyS0 panic=-1', media: false, agentImage });
    pkgDir = pkg.dir;
    console.log(`build: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'manifest.json'), 'utf8')) as { initrd?: { compressedBytes?: number; uncompressedBytes?: number; agentImage?: boolean } };
  const mib = (n: number | undefined) => (n === undefined ? '?' : (n / 1048576).toFixed(1));
  const layout = manifest.initrd?.agentImage ? 'agent in a squashfs image' : 'agent as /init';
  console.log(`package: ${pkgDir}; initrd ${mib(manifest.initrd?.compressedBytes)} MiB compressed, ${mib(manifest.initrd?.uncompressedBytes)} MiB unpacked (${layout})`);
  const server = await makeImageServer(join(work, 'server'));
  rsyncd = await startRsyncd(server.dir);

  const attempt = async (mb: number): Promise<Attempt> => {
    const disk = join(work, 'disk.img');
    rmSync(disk, { force: true });
    writeFileSync(disk, '');
    truncateSync(disk, 1024 * 1024 * 1024);
    const r = await bootQemu({
      workDir: work,
      kernel: join(pkgDir, 'kernel'),
      initrd: join(pkgDir, 'initrd.img'),
      append: `console=ttyS0 panic=-1 ${rootfsWords}IMAGESERVER=${SERVER_IP} HOSTNAME=node001 POST_ACTION=shutdown${process.env.BENCH_APPEND ? ` ${process.env.BENCH_APPEND}` : ''}`,
      disks: [disk],
      forwards: [{ guestPort: 873, hostPort: rsyncd!.port }],
      memoryMb: mb,
      until: /reboot: Power down|si-agent shell #|Kernel panic/,
      timeoutMs: TIMEOUT_MS,
    });
    const poweredOff = /reboot: Power down/.test(r.log);
    const image = poweredOff ? installedImage(disk, join(work, 'mnt')) : null;
    const ok = poweredOff && image === server.imageName;
    const how = ok
      ? `installed ${image}, power-off after ${r.seconds.toFixed(1)} s (/init at ${r.initSeconds?.toFixed(1) ?? '?'} s)`
      : poweredOff
        ? `powered off but the disk has no IMAGE_LAST_SYNCED_TO (${image ?? 'no stamp'})`
        : classify(r.log, !r.matched && r.exitCode === null);
    writeFileSync(join(work, `serial-${mb}.log`), r.log);
    if (process.env.BENCH_SERIAL_DIR) {
      mkdirSync(process.env.BENCH_SERIAL_DIR, { recursive: true });
      writeFileSync(join(process.env.BENCH_SERIAL_DIR, `serial-${mb}.log`), r.log);
    }
    return { mb, ok, how, seconds: r.seconds, initSeconds: r.initSeconds };
  };

  const results: Attempt[] = [];
  const run = async (mb: number): Promise<Attempt> => {
    const a = await attempt(mb);
    results.push(a);
    console.log(`-m ${String(mb).padStart(5)}: ${a.ok ? 'ok    ' : 'FAILED'} ${a.how}`);
    if (!a.ok) console.log(`         serial tail:\n${tailOf(readFileSync(join(work, `serial-${mb}.log`), 'latin1'), 12).replace(/^/gm, '           ')}`);
    return a;
  };

  let lastOk: Attempt | undefined;
  let firstFail: Attempt | undefined;
  for (const mb of [...SIZES].sort((a, b) => b - a)) {
    const a = await run(mb);
    if (!a.ok) {
      firstFail = a;
      break;
    }
    lastOk = a;
  }
  if (lastOk && firstFail && STEP > 0) {
    let hi = lastOk.mb;
    let lo = firstFail.mb;
    while (hi - lo > STEP) {
      const mid = Math.round((hi + lo) / 2 / 8) * 8;
      if (mid <= lo || mid >= hi) break;
      const a = await run(mid);
      if (a.ok) {
        hi = mid;
        lastOk = a;
      } else {
        lo = mid;
        firstFail = a;
      }
    }
  }
  console.log('');
  if (lastOk) console.log(`last success: -m ${lastOk.mb} (${lastOk.how})`);
  else console.log('no size succeeded');
  if (firstFail) console.log(`first failure: -m ${firstFail.mb} (${firstFail.how})`);
  else console.log(`every size succeeded down to ${Math.min(...SIZES)} MB`);
  console.log(`min-memory-mb ${lastOk?.mb ?? 0}`);
} finally {
  await rsyncd?.stop();
  rmSync(work, { recursive: true, force: true });
}
