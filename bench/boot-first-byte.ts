// Benchmark: time from the kernel handing over to /init to the first byte of image data, for the agent as /init
// against a minimal busybox /init, in the same run. Needs root, qemu-system-x86_64, rsync; for the default tap network
// also ip netns, /dev/net/tun and dnsmasq (BENCH_NET=user: QEMU user networking with guestfwd, needs socat); TCG.
//
// Both boots use the same kernel and standard initrd, the same network and the same fixture rsyncd. The busybox boot
// prepends a tiny uncompressed cpio with /bb-init (started with rdinit=/bb-init) and /etc/udhcpc/default.script:
// mount proc/sys/dev, modprobe virtio_pci, virtio_net, virtio_blk, udhcpc, then rsync of one file of the image module.
//
// Network (BENCH_NET=tap, the default): a namespace made here with a tap device (10.215.0.1/24), dnsmasq (DHCP only,
// option 140 = 10.215.0.1, --no-ping: else dnsmasq's ping check holds the first offer of a fresh address for 3 s) and
// the rsync daemon on the namespace's loopback; QEMU runs in the namespace with its virtio NIC on the tap, as in
// test/boot/boot-dhcp-tap.test.ts. The agent gets IMAGESERVER from option 140, and its ping of the image server is
// answered. (With BENCH_NET=user, QEMU's user networking does not answer ICMP to the guestfwd address: the agent's
// advisory ping then spends about 8 s on three unanswered tries, counted in its time.)
//
// Both instants are wall-clock times on this host, so guest and host clocks are never mixed:
// - /init: the moment "Run /init as init process" (or /bb-init) arrives on the serial console (-serial stdio, read live);
// - first image byte: guest connections to port 873 go through a small TCP relay (this file run with --relay, inside
//   the namespace) in front of rsyncd that reads the rsync daemon handshake: the client names a module, the daemon
//   answers "@RSYNCD: OK", the client sends its arguments, and the daemon's first bytes after that are the start of
//   that module's data (file list, then contents). "First image byte" is the first such reply for the image module.
// The agent touches the image module twice: first for one file (etc/systemimager/autoinstallscript.conf, the disk
// layout, when no disks-layouts file names the host) and later for the whole tree (step "Laying the image down",
// after partitioning). The ratio uses the first, the same point the busybox /init reaches; the whole-tree start is
// printed too, with a timeline of console lines and rsync connections.
// Usage: node bench/boot-first-byte.ts [PACKAGE_DIR]   (default: build a fresh package, no ISO, into a temp dir).
// Env: BENCH_ROUNDS (default 3; the boots alternate agent, busybox), BENCH_NET (tap | user), BENCH_CPU (QEMU -cpu model for both boots; default QEMU's own), BENCH_SMP (vCPUs for both; default 1), BENCH_AGENT_APPEND (more kernel command line for the agent's boots), BENCH_SERIAL_DIR (keep
// each boot's serial log there, every line prefixed with its arrival time in seconds after /init).
// Last line: `ratio <agent/busybox>` of the medians.

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { INSTALLER_KERNEL_WORDS } from '../agent/init/installer-kernel-words.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SELF = import.meta.filename;
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const NET_MODE = process.env.BENCH_NET === 'user' ? 'user' : 'tap';
const TIMEOUT_MS = 480_000;
/** QEMU CPU model for both boots (BENCH_CPU, e.g. max: with RDRAND the kernel's random pool is ready before /init). */
const CPU = process.env.BENCH_CPU ?? '';
/** More kernel command line words for the agent's boots only (BENCH_AGENT_APPEND), to try a setting. */
const AGENT_APPEND = process.env.BENCH_AGENT_APPEND ?? '';
/** Virtual CPUs for both boots (BENCH_SMP, default 1 as in the boot tests; each is a host thread under TCG). */
const SMP = process.env.BENCH_SMP ?? '1';
const INIT_RE = /Run (\S+) as init process/;
const NET = '10.215.0';
const TAP = 'sibench0';
const RSYNCD_PORT = 8730;

/** Wall-clock milliseconds with sub-millisecond precision, comparable between processes on this host. */
const now = () => performance.timeOrigin + performance.now();

// ---- the relay (its own process, so it can run inside the namespace): the rsync daemon handshake per connection ----

interface Conn {
  id: number;
  tConnect: number;
  /** Module the client asked for ('' = module list). */
  module: string | null;
  /** The path argument (module/..., as the client sent it). */
  path: string | null;
  /** The client asked for a listing only (-n). */
  dryRun?: boolean;
  tModule: number | null;
  tOk: number | null;
  /** First bytes from the daemon after its "@RSYNCD: OK": the start of the module's data. */
  tData: number | null;
}

/** `--relay HOST PORT TARGET_PORT`: relays HOST:PORT to 127.0.0.1:TARGET_PORT, printing each connection's state as a JSON line. */
async function relayMain(host: string, port: number, target: number): Promise<void> {
  let ids = 0;
  const server = net.createServer((down) => {
    const c: Conn = { id: ids++, tConnect: now(), module: null, path: null, tModule: null, tOk: null, tData: null };
    const emit = () => process.stdout.write(`${JSON.stringify(c)}\n`);
    emit();
    const up = net.connect(target, '127.0.0.1');
    let fromClient = '';
    let fromServer = '';
    down.on('data', (d: Buffer) => {
      const t = now();
      up.write(d);
      if (fromClient.length >= 16384) return;
      fromClient += d.toString('latin1');
      const lines = fromClient.split('\n');
      // Line 0: the client's @RSYNCD greeting; line 1: the module; then the arguments, NUL- (protocol >= 30) or newline-separated.
      if (c.module === null && lines.length > 2) {
        c.module = lines[1]!.trim();
        c.tModule = t;
        emit();
      }
      if (c.module && c.path === null) {
        const words = lines.slice(2).join('\n').split(/[\0\n]/);
        const p = words.find((a) => a === c.module || a.startsWith(`${c.module}/`));
        if (p !== undefined) {
          c.path = p;
          // A listing only (the image size check): --dry-run, or n in the server's short options (-ne.iLsfxC).
          c.dryRun = words.some((a) => a === '--dry-run' || /^-[a-zA-Z]*n[a-zA-Z]*(\.|$)/.test(a));
          emit();
        }
      }
    });
    up.on('data', (d: Buffer) => {
      const t = now();
      down.write(d);
      if (c.tOk !== null) {
        if (c.tData === null) {
          c.tData = t;
          emit();
        }
        return;
      }
      fromServer += d.toString('latin1');
      const at = fromServer.indexOf('@RSYNCD: OK\n');
      if (at >= 0) {
        c.tOk = t;
        if (fromServer.length > at + '@RSYNCD: OK\n'.length) c.tData = t;
        emit();
      }
    });
    const end = () => {
      down.destroy();
      up.destroy();
    };
    down.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  server.listen(port, host, () => process.stdout.write(`${JSON.stringify({ listening: (server.address() as net.AddressInfo).port })}\n`));
  process.on('SIGTERM', () => process.exit(0));
}

interface Relay {
  port: number;
  conns: Map<number, Conn>;
}

/** Starts the relay (in ns when given) and follows its JSON lines. */
async function startRelay(spawnIn: (argv: string[]) => ChildProcess, host: string, port: number, target: number): Promise<Relay> {
  const child = spawnIn([process.execPath, SELF, '--relay', host, String(port), String(target)]);
  const conns = new Map<number, Conn>();
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return await new Promise<Relay>((resolveRelay, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay did not start: ${stderr}`)), 15_000);
    child.once('exit', (code) => reject(new Error(`relay exited (${code}): ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const o = JSON.parse(line) as Conn & { listening?: number };
      if (o.listening !== undefined) {
        clearTimeout(timer);
        resolveRelay({ port: o.listening, conns });
      } else conns.set(o.id, o);
    });
  });
}

// ---- QEMU with the serial console read live, each line stamped on arrival ----

interface Line {
  t: number;
  text: string;
}

interface Boot {
  tStart: number;
  tInit: number | null;
  /** The kernel's own printk time of "Run ... as init process" (guest clock), for information. */
  printkInit: number | null;
  lines: Line[];
  log: string;
  ended: string;
}

async function boot(argv: string[], ns: string | null, done: (log: string) => string | null): Promise<Boot> {
  const b: Boot = { tStart: now(), tInit: null, printkInit: null, lines: [], log: '', ended: '' };
  const child = ns ? spawn('ip', ['netns', 'exec', ns, 'qemu-system-x86_64', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn('qemu-system-x86_64', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('latin1').on('data', (d: string) => (stderr += d));
  let partial = '';
  let finish: (why: string) => void = () => {};
  const finished = new Promise<void>((r) => {
    finish = (why) => {
      if (!b.ended) b.ended = why;
      r();
    };
  });
  child.stdout.setEncoding('latin1').on('data', (d: string) => {
    const t = now();
    b.log += d;
    if (b.tInit === null) {
      const m = INIT_RE.exec(b.log);
      if (m) {
        b.tInit = t;
        const pk = /\[\s*(\d+\.\d+)\]/.exec(b.log.slice(b.log.lastIndexOf('\n', m.index) + 1, m.index));
        b.printkInit = pk ? Number(pk[1]) : null;
      }
    }
    partial += d;
    const parts = partial.split(/\r?\n/);
    partial = parts.pop()!;
    for (const p of parts) b.lines.push({ t, text: p });
    const why = done(b.log);
    if (why) finish(why);
  });
  child.on('exit', (code) => finish(`qemu exited (${code})${stderr ? `: ${stderr.trim()}` : ''}`));
  const timer = setTimeout(() => finish('timed out'), TIMEOUT_MS);
  await finished;
  clearTimeout(timer);
  if (child.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
  return b;
}

// ---- the minimal busybox /init ----

function bbInit(server: string, module: string): string {
  return `#!/bin/sh
# Minimal /init for bench/boot-first-byte.ts: network up by DHCP, one file of the image module by rsync, power off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /run /tmp
echo "BB: mounted"
modprobe virtio_pci
modprobe virtio_net
modprobe virtio_blk
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
ip link set lo up
ip link set eth0 up
echo "BB: modules loaded, eth0 up"
udhcpc -i eth0 -f -q -n -t 20 -T 1
echo "BB: dhcp done"
if rsync rsync://${server}/${module}/etc/hostname /tmp/hostname; then echo "BB: rsync ok: $(cat /tmp/hostname)"; else echo "BB: rsync FAILED"; fi
echo BB-DONE
poweroff -f
`;
}

const UDHCPC_SCRIPT = `#!/bin/sh
# udhcpc calls this with deconfig, bound, renew: set the address (and route) it got.
case "$1" in
  deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/\${mask:-24}" dev "$interface"
    if [ -n "$router" ]; then ip route add default via "\${router%% *}" dev "$interface"; fi ;;
esac
exit 0
`;

/** Writes the overlay cpio (uncompressed newc) and the combined initrd: overlay first, then the standard initrd. */
async function busyboxInitrd(work: string, standard: string, server: string, module: string): Promise<string> {
  const tree = join(work, 'bb-overlay');
  mkdirSync(join(tree, 'etc/udhcpc'), { recursive: true });
  writeFileSync(join(tree, 'bb-init'), bbInit(server, module));
  writeFileSync(join(tree, 'etc/udhcpc/default.script'), UDHCPC_SCRIPT);
  chmodSync(join(tree, 'bb-init'), 0o755);
  chmodSync(join(tree, 'etc/udhcpc/default.script'), 0o755);
  const cpio = join(work, 'bb-overlay.cpio');
  const r = spawnSync('cpio', ['--quiet', '-o', '-H', 'newc', '-R', '0:0', '-O', cpio], { cwd: tree, input: 'bb-init\netc\netc/udhcpc\netc/udhcpc/default.script\n' });
  if (r.status !== 0) throw new Error(`cpio failed: ${r.stderr}`);
  const out = join(work, 'initrd-bb.img');
  writeFileSync(out, '');
  await pipeline(createReadStream(cpio), createWriteStream(out, { flags: 'a' }));
  await pipeline(createReadStream(standard), createWriteStream(out, { flags: 'a' }));
  return out;
}

// ---- measurement ----

interface Sample {
  kind: 'agent' | 'busybox';
  round: number;
  /** Seconds from /init to the first image-module data. */
  firstByte: number | null;
  /** Agent only: seconds from /init to the start of the whole-image transfer. */
  wholeImage: number | null;
  /** Seconds from QEMU start to /init (host clock), and the kernel's printk time of it. */
  toInit: number | null;
  printkInit: number | null;
  ended: string;
  boot: Boot;
  conns: Conn[];
}

const secs = (ms: number) => (ms / 1000).toFixed(2);
const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length === 0 ? NaN : v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

async function waitUntil(fn: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function benchMain(): Promise<void> {
  const { canBoot } = await import('../test/boot/package-fixture.ts');
  const { qemuArgs, SERVER_IP, tailOf } = await import('../test/boot/qemu.ts');
  const missing = !canBoot()
    ? 'root and qemu-system-x86_64'
    : NET_MODE === 'user'
      ? existsSync('/usr/bin/socat') ? null : 'socat'
      : !existsSync('/dev/net/tun') ? '/dev/net/tun' : !existsSync('/usr/sbin/dnsmasq') ? 'dnsmasq' : null;
  if (missing) {
    console.log(`boot-first-byte: needs ${missing}; skipped`);
    return;
  }
  const { makeImageServer, findFreePort } = await import('../fixtures/image-server/make-image-server.ts');
  const { buildBootPackage } = await import('../initrd-build/build-package.ts');

  const work = mkdtempSync(join(tmpdir(), 'si-bench-firstbyte.'));
  const children: ChildProcess[] = [];
  let ns: string | null = null;
  const spawnIn = (argv: string[], logName?: string): ChildProcess => {
    const full = ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv;
    const c = spawn(full[0]!, full.slice(1), { stdio: ['ignore', logName ? 'ignore' : 'pipe', 'pipe'], detached: true });
    if (logName) c.stderr!.pipe(createWriteStream(join(work, `${logName}.log`)));
    children.push(c);
    return c;
  };
  try {
    let pkgDir = process.argv[2] ? resolve(process.argv[2]) : '';
    if (!pkgDir) {
      const t0 = Date.now();
      const pkg = await buildBootPackage({ projectDir: ROOT, out: join(work, 'pkg'), flavor: 'standard', append: 'console=ttyS0 panic=-1', media: false });
      pkgDir = pkg.dir;
      console.log(`build: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    const server = await makeImageServer(join(work, 'server'));
    const image = server.imageName;

    // The network: the rsync daemon behind the relay, and (tap) the namespace with the tap device and dnsmasq.
    let serverIp = SERVER_IP;
    let rsyncdPort = RSYNCD_PORT;
    if (NET_MODE === 'tap') {
      serverIp = `${NET}.1`;
      ns = `sibench${process.pid}`;
      sh('ip', ['netns', 'add', ns]);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      // The relay and rsyncd talk over this namespace's loopback: with quickack there, the relay adds no delayed-ACK
      // stall of its own between the daemon and either client, which then see the daemon as if it were on the tap.
      for (const dst of ['127.0.0.0/8', '127.0.0.1']) sh('ip', ['-n', ns, 'route', 'replace', 'local', dst, 'dev', 'lo', 'proto', 'kernel', 'scope', 'host', 'src', '127.0.0.1', 'table', 'local', 'quickack', '1']);
      sh('ip', ['-n', ns, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap']);
      sh('ip', ['-n', ns, 'addr', 'add', `${serverIp}/24`, 'dev', TAP]);
      sh('ip', ['-n', ns, 'link', 'set', TAP, 'up']);
      spawnIn(['dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--port=0', '--bind-interfaces', `--interface=${TAP}`, `--dhcp-range=${NET}.100,${NET}.150,255.255.255.0,10m`,
        `--dhcp-leasefile=${join(work, 'dnsmasq.leases')}`, `--pid-file=${join(work, 'dnsmasq.pid')}`, '--user=root', '--log-dhcp', '--log-facility=-', '--no-ping', `--dhcp-option=140,${serverIp}`], 'dnsmasq');
      await waitUntil(() => existsSync(join(work, 'dnsmasq.log')) && /DHCP, IP range/.test(readFileSync(join(work, 'dnsmasq.log'), 'utf8')), 15_000, 'dnsmasq');
    } else rsyncdPort = await findFreePort();
    spawnIn(['rsync', '--daemon', '--no-detach', `--config=${server.rsyncdConf}`, `--port=${rsyncdPort}`, '--address=127.0.0.1'], 'rsyncd');
    await waitUntil(() => existsSync(server.logFile) && /rsyncd version .* starting/.test(readFileSync(server.logFile, 'utf8')), 15_000, 'rsyncd');
    const relay = NET_MODE === 'tap' ? await startRelay(spawnIn, serverIp, 873, rsyncdPort) : await startRelay(spawnIn, '127.0.0.1', 0, rsyncdPort);
    console.log(`network: ${NET_MODE === 'tap' ? `tap ${TAP} in namespace ${ns}, dnsmasq, image server ${serverIp}` : `QEMU user networking, guestfwd ${SERVER_IP}:873`}; package ${pkgDir}; QEMU -cpu ${CPU || '(default)'} -smp ${SMP}`);

    const kernel = join(pkgDir, 'kernel');
    const standard = join(pkgDir, 'initrd.img');
    const bbInitrd = await busyboxInitrd(work, standard, serverIp, image);
    const disk = join(work, 'disk.img');
    // The boot configs' own words (rootfstype=ramfs) for both, as a machine booted from those configs gets them.
    const base = ['console=ttyS0', 'panic=-1', 'printk.time=1', ...INSTALLER_KERNEL_WORDS].join(' ');
    const argvFor = (initrd: string, append: string): string[] => {
      const a = qemuArgs(
        {
          workDir: work, kernel, initrd, append, disks: [disk], until: /$^/, timeoutMs: TIMEOUT_MS,
          ...(NET_MODE === 'tap' ? { tap: { ifname: TAP } } : { forwards: [{ guestPort: 873, hostPort: relay.port }] }),
        },
        '/dev/null',
      );
      a[a.indexOf('-serial') + 1] = 'stdio';
      if (CPU) a.push('-cpu', CPU);
      a[a.indexOf('-smp') + 1] = SMP;
      return a;
    };

    const measure = async (kind: Sample['kind'], round: number): Promise<Sample> => {
      rmSync(disk, { force: true });
      writeFileSync(disk, '');
      truncateSync(disk, 1024 * 1024 * 1024);
      const before = new Set(relay.conns.keys());
      const mine = () => [...relay.conns.values()].filter((c) => !before.has(c.id));
      const imageConns = () => mine().filter((c) => c.module === image && c.tData !== null);
      // The copy itself, not the size check's listing of the same path.
      const whole = () => imageConns().find((c) => (c.path === image || c.path === `${image}/`) && !c.dryRun);
      const b =
        kind === 'agent'
          ? await boot(argvFor(standard, `${base}${NET_MODE === 'user' ? ` IMAGESERVER=${SERVER_IP}` : ''} HOSTNAME=node001 POST_ACTION=shutdown${AGENT_APPEND ? ` ${AGENT_APPEND}` : ''}`), ns, (log) =>
              whole() ? 'whole-image transfer started' : (/reboot: Power down|si-agent shell #|Kernel panic/.exec(log)?.[0] ?? null),
            )
          : await boot(argvFor(bbInitrd, `${base} rdinit=/bb-init`), ns, (log) => /BB-DONE|reboot: Power down|Kernel panic/.exec(log)?.[0] ?? null);
      await new Promise((r) => setTimeout(r, 200)); // the relay's last lines
      const first = imageConns().sort((x, y) => x.tData! - y.tData!)[0];
      const w = kind === 'agent' ? whole() : undefined;
      const rel = (t: number | null | undefined) => (t != null && b.tInit !== null ? (t - b.tInit) / 1000 : null);
      return { kind, round, firstByte: rel(first?.tData), wholeImage: rel(w?.tData), toInit: b.tInit !== null ? (b.tInit - b.tStart) / 1000 : null, printkInit: b.printkInit, ended: b.ended, boot: b, conns: mine() };
    };

    const show = (x: Sample) => {
      const f = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(2)} s`);
      console.log(
        `round ${x.round} ${x.kind.padEnd(7)}: /init after ${f(x.toInit)} (printk [${x.printkInit ?? '?'}]); first image byte ${f(x.firstByte)} after /init` +
          (x.kind === 'agent' ? `; whole-image transfer ${f(x.wholeImage)} after /init` : '') +
          ` (ended: ${x.ended})`,
      );
      if (x.firstByte === null) console.log(`  serial tail:\n${tailOf(x.boot.log, 25).replace(/^/gm, '    ')}`);
    };

    const samples: Sample[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const kind of ['agent', 'busybox'] as const) {
        const x = await measure(kind, round);
        samples.push(x);
        if (process.env.BENCH_SERIAL_DIR) {
          mkdirSync(process.env.BENCH_SERIAL_DIR, { recursive: true });
          const t0 = x.boot.tInit ?? x.boot.tStart;
          const text = x.boot.lines.map((l) => `${secs(l.t - t0).padStart(8)} | ${l.text}`).join('\n');
          writeFileSync(join(process.env.BENCH_SERIAL_DIR, `round${round}-${kind}.log`), `${text}\n`);
        }
        show(x);
      }
    }

    // Where the time goes, from the median run of each (by first image byte): the kernel's part, then console lines
    // (PID 1's and the worker's boot: phases, the steps, busybox markers) and rsync connections.
    for (const kind of ['agent', 'busybox'] as const) {
      const good = samples.filter((v) => v.kind === kind && v.firstByte !== null).sort((p, q) => p.firstByte! - q.firstByte!);
      const x = good[Math.floor((good.length - 1) / 2)];
      if (!x || x.boot.tInit === null) continue;
      const t0 = x.boot.tInit;
      console.log(`\n${kind}: timeline of the median run (round ${x.round}; host wall clock, seconds after /init)`);
      console.log(`  kernel: QEMU start -> /init ${secs(t0 - x.boot.tStart)} s (printk [${x.printkInit ?? '?'}])`);
      const marks = x.boot.lines.filter((l) => l.t >= t0 && /^==> \[|^BB: |^\s+boot: |^\s+DHCP: ACK|^\s+network: |^\s+ping |^\s+layout |^\[\s*\d+\.\d+\] virtio_net|^\[\s*\d+\.\d+\] EXT4-fs/.test(l.text));
      const events = [
        ...marks.map((l) => ({ t: l.t, what: `console  ${l.text.trim()}` })),
        ...x.conns.filter((c) => c.tModule !== null).map((c) => ({ t: c.tModule!, what: `rsync    module ${c.module || '(list)'}${c.path ? ` path ${c.path}` : ''}${c.dryRun ? ' (listing)' : ''}${c.tData !== null ? `, data +${secs(c.tData - c.tModule!)} s` : ''}` })),
      ].sort((a, b) => a.t - b.t);
      let prev = t0;
      for (const e of events) {
        console.log(`  ${secs(e.t - t0).padStart(7)} s  +${secs(e.t - prev).padStart(5)}  ${e.what}`);
        prev = e.t;
      }
    }

    const pick = (kind: Sample['kind'], key: 'firstByte' | 'wholeImage' | 'toInit') => samples.filter((v) => v.kind === kind && v[key] !== null).map((v) => v[key]!);
    const agent = pick('agent', 'firstByte');
    const bb = pick('busybox', 'firstByte');
    const wholeAgent = pick('agent', 'wholeImage');
    const list = (xs: number[]) => xs.map((v) => v.toFixed(2)).join(' ');
    console.log('');
    console.log(`QEMU start -> /init (median): agent initrd ${median(pick('agent', 'toInit')).toFixed(2)} s, busybox initrd ${median(pick('busybox', 'toInit')).toFixed(2)} s`);
    console.log(`agent   /init -> first image byte: ${list(agent)} s; median ${median(agent).toFixed(2)} s`);
    console.log(`agent   /init -> whole-image transfer start: ${list(wholeAgent)} s; median ${median(wholeAgent).toFixed(2)} s`);
    console.log(`busybox /init -> first image byte: ${list(bb)} s; median ${median(bb).toFixed(2)} s`);
    console.log(`ratio-whole-image ${(median(wholeAgent) / median(bb)).toFixed(2)}`);
    console.log(`ratio ${(median(agent) / median(bb)).toFixed(2)}`);
  } finally {
    for (const c of children) {
      if (c.exitCode === null && c.pid) {
        try {
          process.kill(-c.pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const c of children) {
      if (c.exitCode === null && c.pid) {
        try {
          process.kill(-c.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    if (ns) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        /* already gone */
      }
    }
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--relay') await relayMain(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));
else await benchMain();
