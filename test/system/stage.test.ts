// System test (root: loop disk, mount, chroot, network namespace, rsync daemon): `si-agent stage --root` into the
// debootstrapped Debian of the target tests (fixtures/target/build-debian-root.sh) on a loop disk, against the fixture
// image server's `boot` module served inside a namespace that also holds the interface --configure-from reads. Checks the
// staged files, the grub.d entry, grub.cfg regenerated with it, grubenv next_entry, local.cfg both ways (root and the
// cpio appended to the initrd), that --undo puts the file set back exactly, a grub.cfg without a generator, and the bad
// inputs (unknown flavor, server down, no GRUB, not root, no --yes, unknown interface) each changing nothing.

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLocalCfg } from '../../agent/params/local-cfg.js';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { AGENT } from './lib/agent.js';
import { attachLoop, detachLoops, type Loop } from './lib/loops.js';

const isRoot = process.getuid?.() === 0;
const CACHE = join(__dirname, '../../.cache/debootstrap');
const BUILD = join(__dirname, '../../fixtures/target/build-debian-root.sh');
const NS = `st${process.pid}stage`;
const MAC = '52:54:00:88:01:05';

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const quiet = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' });

/** The cached Debian root (built once, about 3 minutes), or why it cannot be had. */
function debianRoot(): { root?: string; why?: string } {
  if (!isRoot) return { why: 'needs root' };
  if (!existsSync('/usr/sbin/debootstrap') && !existsSync(join(CACHE, 'bookworm-grub/.si-complete'))) return { why: 'debootstrap is not installed' };
  const r = spawnSync(BUILD, [CACHE], { encoding: 'utf8', timeout: 15 * 60 * 1000 });
  return r.status === 0 ? { root: r.stdout.trim() } : { why: `could not build the Debian cache: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}` };
}

/** Every path under root with what it is (sha256 and mode of files, link targets, directory modes): the file set. */
function fileSet(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel))) {
      const p = rel ? `${rel}/${name}` : name;
      if (['proc', 'sys', 'dev', 'run', 'tmp'].includes(p)) continue;
      const st = lstatSync(join(root, p));
      if (st.isSymbolicLink()) out.set(p, `-> ${readlinkSync(join(root, p))}`);
      else if (st.isDirectory()) {
        out.set(p + '/', `dir ${(st.mode & 0o7777).toString(8)}`);
        walk(p);
      } else if (st.isFile()) out.set(p, `${(st.mode & 0o7777).toString(8)} ${createHash('sha256').update(readFileSync(join(root, p))).digest('hex')}`);
      else out.set(p, `special ${st.mode}`);
    }
  };
  walk('');
  return out;
}

/** The differences between two file sets, one line each (empty when equal). */
function diffSets(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) out.push(`${k}: ${v} -> ${b.get(k) ?? 'absent'}`);
  for (const k of b.keys()) if (!a.has(k)) out.push(`${k}: new`);
  return out;
}

/** Runs the bundled agent inside the namespace (as root unless uid is given). */
function agent(args: string[], opts: { uid?: number; input?: string } = {}): { code: number | null; stdout: string; stderr: string } {
  // Not root cannot enter a namespace: that case runs in this one (it must stop before any network use anyway).
  const argv = opts.uid !== undefined ? [process.execPath, AGENT, ...args] : ['ip', 'netns', 'exec', NS, process.execPath, AGENT, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 600_000, ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}), input: opts.input ?? '' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!isRoot)('si-agent stage --root into a debootstrapped Debian on a loop disk (root, slow)', () => {
  let cache: { root?: string; why?: string } = {};
  let work: string;
  let server: ImageServerInfo;
  let rsyncd: ChildProcess | undefined;
  let disk: Loop | undefined;
  const extra: Loop[] = [];
  let sysroot: string;
  let uuid: string;
  let before: Map<string, string>;
  let staged: { code: number | null; stdout: string; stderr: string };
  const stageArgs = () => ['stage', '--root', sysroot, '--server', '127.0.0.1', '--configure-from', 'stdum0', '--append', 'console=ttyS0 POST_ACTION=shutdown', '--yes'];

  beforeAll(async () => {
    cache = debianRoot();
    if (cache.why) {
      console.warn(`stage: skipped: ${cache.why}`);
      return;
    }
    if (!existsSync(AGENT)) throw new Error(`${AGENT} is missing: run npm run build first`);
    work = mkdtempSync(join(tmpdir(), 'si-stage-'));
    server = await makeImageServer(join(work, 'server'));
    // The fixture server: listens on its namespace's loopback, port 873 (the namespace is ours alone).
    sh('ip', ['netns', 'add', NS]);
    sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', NS, 'link', 'add', 'stdum0', 'address', MAC, 'type', 'veth', 'peer', 'name', 'stpeer0']); // no dummy driver here: one veth pair inside the namespace
    sh('ip', ['-n', NS, 'addr', 'add', '10.88.1.5/24', 'dev', 'stdum0']);
    sh('ip', ['-n', NS, 'link', 'set', 'stdum0', 'up']);
    sh('ip', ['-n', NS, 'route', 'add', 'default', 'via', '10.88.1.1']);
    mkdirSync(`/etc/netns/${NS}`, { recursive: true });
    writeFileSync(`/etc/netns/${NS}/resolv.conf`, 'search lab.example\nnameserver 10.88.1.53\n');
    rsyncd = spawn('ip', ['netns', 'exec', NS, 'rsync', '--daemon', '--no-detach', `--config=${server.rsyncdConf}`, '--port=873', '--address=127.0.0.1'], { stdio: 'ignore', detached: true });
    for (let i = 0; spawnSync('ip', ['netns', 'exec', NS, 'rsync', 'rsync://127.0.0.1/']).status !== 0; i++) {
      if (i > 100) throw new Error('the fixture rsync daemon did not start in the namespace');
      await new Promise((r) => setTimeout(r, 100));
    }
    disk = attachLoop(work, 'disk', 1536);
    sh('parted', ['-s', disk.dev, 'mklabel', 'msdos', 'mkpart', 'primary', 'ext4', '1MiB', '100%']);
    quiet('partprobe', [disk.dev]);
    const part = `${disk.dev}p1`;
    sh('mkfs.ext4', ['-q', '-F', part]);
    uuid = sh('blkid', ['-p', '-s', 'UUID', '-o', 'value', part]).trim();
    sysroot = join(work, 'sysroot');
    mkdirSync(sysroot);
    sh('mount', [part, sysroot]);
    sh('rsync', ['-aHAX', '--exclude=/.si-complete', `${cache.root}/`, `${sysroot}/`]);
    writeFileSync(join(sysroot, 'etc/hostname'), 'stagebox\n');
    // The installed system's grub.cfg, as its own update-grub writes it (grub-install would have made /boot/grub).
    mkdirSync(join(sysroot, 'boot/grub'));
    for (const d of ['dev', 'proc', 'sys']) sh('mount', ['--bind', `/${d}`, join(sysroot, d)]);
    try {
      sh('chroot', [sysroot, 'update-grub']);
    } finally {
      for (const d of ['sys', 'proc', 'dev']) quiet('umount', ['-l', join(sysroot, d)]);
    }
    before = fileSet(sysroot);
    staged = agent(stageArgs());
  }, 20 * 60 * 1000);

  afterAll(() => {
    if (rsyncd?.pid) {
      try {
        process.kill(-rsyncd.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    if (existsSync(`/var/run/netns/${NS}`)) quiet('ip', ['netns', 'del', NS]);
    rmSync(`/etc/netns/${NS}`, { recursive: true, force: true });
    if (sysroot) for (const m of readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(sysroot)).reverse()) quiet('umount', ['-l', m]);
    for (const m of readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => work && m.startsWith(join(work, 'bare-')))) quiet('umount', ['-l', m]);
    if (disk) detachLoops([disk, ...extra]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('fetches kernel and initrd from boot/x86_64/standard/ and prints their sha256', (t) => {
    if (!cache.root) return t.skip();
    expect(staged.code, `${staged.stderr}\n${staged.stdout}`).toBe(0);
    const kernel = readFileSync(join(server.bootDir, 'x86_64/standard/kernel'));
    expect(readFileSync(join(sysroot, 'boot/kernel.systemimager')).equals(kernel)).toBe(true);
    expect(staged.stdout).toContain(`kernel     sha256 ${createHash('sha256').update(kernel).digest('hex')}`);
    const initrd = readFileSync(join(server.bootDir, 'x86_64/standard/initrd.img'));
    expect(staged.stdout).toContain(`initrd.img sha256 ${createHash('sha256').update(initrd).digest('hex')}`);
    expect(readFileSync(join(sysroot, 'boot/initrd.img.systemimager')).subarray(0, initrd.length).equals(initrd)).toBe(true);
  });

  it('local.cfg both ways: /local.cfg on the root (LAST_ROOT=UUID= on the command line) and a cpio appended to the initrd', (t) => {
    if (!cache.root) return t.skip();
    const text = readFileSync(join(sysroot, 'local.cfg'), 'utf8');
    const values = Object.fromEntries(parseLocalCfg(text, 'x').assignments.map((a) => [a.name, a.value]));
    expect(values).toMatchObject({
      HOSTNAME: 'stagebox', DOMAINNAME: 'lab.example', DEVICE: MAC, IP_ASSIGNMENT: 'static', IPADDR: '10.88.1.5', NETMASK: '255.255.255.0',
      GATEWAY: '10.88.1.1', DNS_SERVERS: '10.88.1.53', IMAGESERVER: '127.0.0.1',
    });
    expect(parseLocalCfg(text, 'x').problems).toEqual([]);
    // The tail of the staged initrd is a newc archive (after 4-byte alignment) that cpio itself reads back.
    const base = readFileSync(join(server.bootDir, 'x86_64/standard/initrd.img')).length;
    const tail = readFileSync(join(sysroot, 'boot/initrd.img.systemimager')).subarray(base + ((4 - (base % 4)) % 4));
    expect(execFileSync('cpio', ['-t', '--quiet'], { input: tail, encoding: 'utf8' }).trim()).toBe('local.cfg');
    expect(execFileSync('cpio', ['-i', '--quiet', '--to-stdout', 'local.cfg'], { input: tail, encoding: 'utf8' })).toBe(text);
  });

  it('a grub.d entry, grub.cfg regenerated with it (LAST_ROOT, --append words), grubenv next_entry set', (t) => {
    if (!cache.root) return t.skip();
    const script = join(sysroot, 'etc/grub.d/42_systemimager');
    expect(lstatSync(script).mode & 0o111).not.toBe(0);
    const cfg = readFileSync(join(sysroot, 'boot/grub/grub.cfg'), 'utf8');
    const entry = cfg.slice(cfg.indexOf("menuentry 'SystemImager autoinstall' --id systemimager-autoinstall {"));
    expect(entry.length).toBeLessThan(cfg.length);
    expect(entry).toMatch(new RegExp(`search --no-floppy --fs-uuid --set=root ${uuid}`));
    expect(entry).toMatch(new RegExp(`linux\\t/boot/kernel\\.systemimager rootfstype=ramfs IMAGESERVER=127\\.0\\.0\\.1 LAST_ROOT=UUID=${uuid} console=ttyS0 POST_ACTION=shutdown\\n`));
    expect(entry).toMatch(/initrd\t\/boot\/initrd\.img\.systemimager\n/);
    expect(cfg.indexOf('systemimager-autoinstall')).toBeGreaterThan(cfg.search(/menuentry 'Debian GNU\/Linux'/)); // not the default: one-shot only
    const env = readFileSync(join(sysroot, 'boot/grub/grubenv'), 'latin1');
    expect(env.length).toBe(1024);
    expect(env).toMatch(/^next_entry=systemimager-autoinstall$/m);
    expect(staged.stdout).toMatch(/added \/etc\/grub\.d\/42_systemimager/);
    expect(staged.stdout).toMatch(/changed \/boot\/grub\/grub\.cfg/);
    const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => (l.split(' ')[1] ?? '').startsWith(sysroot + '/'));
    expect(mounts, 'no bind mount left in the target').toEqual([]);
  });

  it('staging again undoes the first stage first; --undo then restores the file set exactly', (t) => {
    if (!cache.root) return t.skip();
    const again = agent(stageArgs());
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/previous stage: restored \/boot\/grub\/grub\.cfg/);
    const undo = agent(['stage', '--undo', '--root', sysroot, '--yes']);
    expect(undo.code, undo.stderr).toBe(0);
    expect(undo.stdout).toMatch(/removed \/boot\/kernel\.systemimager/);
    expect(diffSets(before, fileSet(sysroot))).toEqual([]);
    expect(agent(['stage', '--undo', '--root', sysroot, '--yes']).stdout).toMatch(/nothing is staged/);
  }, 300_000);

  it('bad input: unknown flavor, server down, unknown interface, not root, no --yes: a clear error each, nothing changed', (t) => {
    if (!cache.root) return t.skip();
    const base = ['stage', '--root', sysroot, '--server', '127.0.0.1', '--yes'];
    const flavor = agent([...base, '--flavor', 'nosuch']);
    expect(flavor.code).toBe(2);
    expect(flavor.stderr).toMatch(/flavor "nosuch" is not on image server 127\.0\.0\.1:873 \(boot\/x86_64\/\); it offers: standard/);
    const arch = agent([...base, '--arch', 'sparc64']);
    expect(arch.stderr).toMatch(/no boot package for sparc64; it offers: x86_64/);
    const down = agent([...base, '--rsync-port', '8873']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/image server 127\.0\.0\.1:8873 does not answer/);
    const nic = agent([...base, '--configure-from', 'nosuch0']);
    expect(nic.code).toBe(2);
    expect(nic.stderr).toMatch(/--configure-from "nosuch0": no such network interface \(this machine has: stdum0, stpeer0\)/);
    const nobody = agent(base, { uid: 65534 });
    expect(nobody.code).toBe(2);
    expect(nobody.stderr).toMatch(/run it as root \(nothing was changed\)/);
    const noYes = agent(base.filter((a) => a !== '--yes'));
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toMatch(/give --yes \(nothing was changed\)/);
    expect(diffSets(before, fileSet(sysroot))).toEqual([]);
  }, 300_000);

  it('no GRUB found is a clear error; a grub.cfg without a generator gets a direct entry and grubenv; systemd-boot a loader entry; each undone exactly', (t) => {
    if (!cache.root) return t.skip();
    // A small filesystem of its own: the entry names /boot's filesystem by UUID.
    const small = attachLoop(work, 'bare', 32);
    extra.push(small);
    sh('mkfs.ext4', ['-q', '-F', small.dev]);
    const bare = mkdtempSync(join(work, 'bare-'));
    sh('mount', [small.dev, bare]);
    rmSync(join(bare, 'lost+found'), { recursive: true });
    mkdirSync(join(bare, 'boot'));
    const none = agent(['stage', '--root', bare, '--server', '127.0.0.1', '--yes']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no boot loader to stage into: no GRUB config \(\/boot\/grub\/grub\.cfg, \/boot\/grub2\/grub\.cfg\) and no systemd-boot/);
    expect(readdirSync(join(bare, 'boot'))).toEqual([]);

    mkdirSync(join(bare, 'boot/grub'));
    const cfg = "set default=0\nset timeout=1\nmenuentry 'Linux' {\n\tlinux /boot/vmlinuz root=UUID=0f3c2a4e-1b2d-4c5e-8f90-a1b2c3d4e5f6\n}\n";
    writeFileSync(join(bare, 'boot/grub/grub.cfg'), cfg);
    chmodSync(join(bare, 'boot/grub/grub.cfg'), 0o600);
    const plainBefore = fileSet(bare);
    const r = agent(['stage', '--root', bare, '--server', '127.0.0.1', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const out = readFileSync(join(bare, 'boot/grub/grub.cfg'), 'utf8');
    expect(out.indexOf('### BEGIN si-agent stage ###')).toBeLessThan(out.indexOf("menuentry 'Linux'"));
    expect(out).toMatch(/if \[ "\$\{next_entry\}" \] ; then/);
    expect(out).toMatch(/linux\t\/boot\/kernel\.systemimager rootfstype=ramfs IMAGESERVER=127\.0\.0\.1 SKIP_LOCAL_CFG=y\n/);
    const env = readFileSync(join(bare, 'boot/grub/grubenv'), 'latin1');
    expect(env).toMatch(/^# GRUB Environment Block\nnext_entry=systemimager-autoinstall\n#+$/);
    expect(env.length).toBe(1024);
    expect(existsSync(join(bare, 'local.cfg'))).toBe(false);
    expect(agent(['stage', '--undo', '--root', bare, '--yes']).code).toBe(0);
    expect(diffSets(plainBefore, fileSet(bare))).toEqual([]);

    // systemd-boot (no GRUB): a loader entry with the files on the ESP; no bootctl here, so no one-shot, and it says so.
    rmSync(join(bare, 'boot/grub'), { recursive: true });
    mkdirSync(join(bare, 'boot/efi/loader'), { recursive: true });
    writeFileSync(join(bare, 'boot/efi/loader/loader.conf'), 'timeout 3\n');
    const sdBefore = fileSet(bare);
    const sd = agent(['stage', '--root', bare, '--server', '127.0.0.1', '--append', 'console=ttyS0', '--yes']);
    expect(sd.code, sd.stderr).toBe(0);
    expect(readFileSync(join(bare, 'boot/efi/loader/entries/systemimager-autoinstall.conf'), 'utf8')).toMatch(
      /^title SystemImager autoinstall\nlinux \/systemimager\/kernel\ninitrd \/systemimager\/initrd\.img\noptions rootfstype=ramfs IMAGESERVER=127\.0\.0\.1 SKIP_LOCAL_CFG=y console=ttyS0\n$/m,
    );
    expect(readFileSync(join(bare, 'boot/efi/systemimager/kernel')).equals(readFileSync(join(server.bootDir, 'x86_64/standard/kernel')))).toBe(true);
    expect(existsSync(join(bare, 'boot/kernel.systemimager'))).toBe(false);
    expect(sd.stderr).toMatch(/no one-shot default set \(no bootctl\)/);
    expect(agent(['stage', '--undo', '--root', bare, '--yes']).code).toBe(0);
    expect(diffSets(sdBefore, fileSet(bare))).toEqual([]);
  }, 120_000);
});
