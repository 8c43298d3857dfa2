// System test (root): the transports over IPv6 only. An image-server namespace with one IPv6 address (no IPv4 on its
// link) runs OpenSSH's sshd (rsyncd behind it on its own 127.0.0.1), a UDP syslog listener, rsyncd on [SERVER] with a
// torrents module, an HTTP tracker on [SERVER] (a small one in Node: Debian's opentracker is built V4-only) and aria2c as
// the first seeder; the client namespace brings up a static IPv6 address (IPV4_ASSIGNMENT=off) and installs onto a loop
// device: once through the client-driven SSH tunnel with LOG_SERVER on IPv6, once over BitTorrent with IPv6 peers, once
// server-driven (SSHD=y) with OpenSSH's ssh in the server namespace pushing to the agent's IPv6 address as si_pushinstall
// does, and once server-driven on dual stack (IPv4 on both ends for that case only, the push over IPv6).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { bundleEntry, canRunNetTests, createLab, ip, type Lab, waitFor } from './lib-net/netns.js';
import { makeTorrent } from './lib-net/bt-lab.js';
import { attachLoop, detachLoops, type Loop } from './lib/loops.js';
import { AGENT } from './lib/agent.js';
import { pushArgv, sshIn } from './lib-net/ssh-push.js';

const enabled = canRunNetTests() && existsSync('/usr/sbin/sshd');
const PREFIX = 'fd42:77:9';
const SERVER = `${PREFIX}::1`;
const CLIENT = `${PREFIX}::10`;
const NET6_NONAME = `IPV4_ASSIGNMENT=off IPV6_ASSIGNMENT=static IPV6ADDR=${CLIENT}/64 IMAGESERVER=${SERVER} POST_ACTION=shutdown`;
const NET6 = `${NET6_NONAME} HOSTNAME=node001`;
// Dual stack: IPv4 as well, the image server named by its IPv4 address.
const SERVER4 = '10.214.19.1';
const CLIENT4 = '10.214.19.2';
const NET_DUAL = `IPADDR=${CLIENT4} NETMASK=255.255.255.0 IPV6_ASSIGNMENT=static IPV6ADDR=${CLIENT}/64 IMAGESERVER=${SERVER4} HOSTNAME=node001 POST_ACTION=shutdown`;
let lab: Lab;
let server: ImageServerInfo;
let loop: Loop | undefined;
let c = '';
let s = '';
const key = (name: string) => join(lab.dir, 'keys', name);

// The syslog server's stand-in: each datagram on [SERVER]:5514 printed with its sender.
const SYSLOG = `const s = require('dgram').createSocket('udp6'); s.on('message', (m, r) => console.log(r.address + ' ' + m.toString())); s.bind(5514, process.argv[1], () => console.log('listening'));`;

interface Run {
  code: number | null;
  out: string;
  msgs: string[];
  events: Array<Record<string, unknown>>;
}

interface InstallOptions {
  /** The network words (default NET6). */
  net?: string;
  /** Runs once the agent has started, with its events file (the image server's part). */
  onStart?: (eventsFile: string) => Promise<void>;
}

async function install(name: string, words: string, extra: string[] = [], opts: InstallOptions = {}): Promise<Run> {
  const work = join(lab.dir, name);
  mkdirSync(join(work, 'tmp'), { recursive: true });
  const events = join(work, 'events.jsonl');
  const child = spawn('ip', ['netns', 'exec', c, process.execPath, AGENT, 'install', '--network', '--cmdline', `${opts.net ?? NET6} ${words}`, '--local-cfg', '/dev/null',
    '--disk', loop!.dev, '--sysroot', join(work, 'sysroot'), '--workdir', join(work, 'w'), '--events', events, '--log', join(work, 'si.log'), ...extra],
  { env: { ...process.env, SI_TMP: join(work, 'tmp'), SI_RESOLV_CONF: join(work, 'resolv.conf') }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  const closed = new Promise<number | null>((r) => child.on('close', (x) => r(x)));
  if (opts.onStart) await opts.onStart(events).catch((err: Error) => void (out += `\nonStart: ${err.message}\n`));
  const code = await closed;
  clearTimeout(timer);
  const evs = existsSync(events) ? readFileSync(events, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  return { code, out, events: evs, msgs: evs.filter((e) => e.type === 'log').map((e) => String(e.message)) };
}

function checkInstalled(): void {
  const mnt = join(lab.dir, 'check');
  mkdirSync(mnt, { recursive: true });
  execFileSync('mount', ['-o', 'ro', `${loop!.dev}p2`, mnt]);
  try {
    expect(readFileSync(join(mnt, 'etc/systemimager/IMAGE_LAST_SYNCED_TO'), 'utf8').trim()).toBe(server.imageName);
    expect(readFileSync(join(mnt, 'etc/shared-gc'), 'utf8')).toBe('compute\n');
    expect(existsSync(join(mnt, 'root/post-install-ran'))).toBe(true);
  } finally {
    execFileSync('umount', [mnt]);
  }
}

/** The rsync daemons' log from `from` on (both write one file; earlier cases' lines are left out). */
const rsyncLogSince = (from: number) => readFileSync(server.logFile, 'utf8').slice(from);
const rsyncLogLength = () => readFileSync(server.logFile, 'utf8').length;
const eventsText = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Checks a server-driven install's log for what every push shows: the forward was served, every rsync connection came
 * to the server's own 127.0.0.1 (the forward) and none from the client, the image went that way, imaging_complete named
 * `clientAddress`, and the pushing ssh ended when the install did.
 */
async function expectPushedThroughForward(r: Run, from: number, pusher: ChildProcess | undefined, clientAddress: string): Promise<void> {
  expect(pusher, r.out).toBeDefined();
  const t = r.events.find((e) => e.type === 'transport');
  expect(t).toMatchObject({ transport: 'sshd' });
  expect(String(t!.peer)).toMatch(new RegExp(`^SHA256:\\S+ \\(id_ed25519@si-test\\) from ${esc(SERVER)}$`));
  expect(String(t!.detail)).toMatch(/^rsync through the image server's forward at 127\.0\.0\.1:\d+$/);
  const log = rsyncLogSince(from);
  expect(log).toMatch(new RegExp(`rsync on ${esc(server.imageName)}/ from \\S+ \\(127\\.0\\.0\\.1\\)`));
  expect(log).not.toMatch(new RegExp(`\\((${esc(CLIENT)}|${esc(CLIENT4)})\\)`));
  expect(log).toMatch(new RegExp(`imaging_complete_${esc(clientAddress)}`));
  await waitFor(() => pusher!.exitCode !== null, 10_000, 'the pushing ssh to exit');
}

const noIPv4 = (ns: string) => ip('-n', ns, '-4', '-o', 'addr', 'show').split('\n').filter((l) => / inet /.test(l) && !/ lo /.test(l));

beforeAll(async () => {
  if (!enabled) return;
  lab = createLab('ipv6-tr');
  mkdirSync(join(lab.dir, 'keys'));
  server = await makeImageServer(join(lab.dir, 'server'));
  // The SSHD case gives no HOSTNAME: the scripts' hosts file names the IPv6 address.
  writeFileSync(join(server.scriptsDir, 'hosts'), `${CLIENT} node001.cluster node001\n`, { flag: 'a' });
  s = lab.ns('ts');
  c = lab.ns('tc');
  lab.veth({ ns: c, name: 'vc0' }, { ns: s, name: 'vs0' });
  ip('-n', s, '-6', 'addr', 'add', `${SERVER}/64`, 'dev', 'vs0', 'nodad');
  // rsyncd twice: on 127.0.0.1 behind sshd (the tunnel's end), and on [SERVER] with the torrents module.
  lab.daemon(s, 'rsyncd-lo', ['rsync', '--daemon', '--no-detach', `--config=${server.rsyncdConf}`, '--port=873', '--address=127.0.0.1']);
  const torrents = join(server.dir, 'torrents');
  mkdirSync(torrents);
  const tracker = `http://[${SERVER}]:6969/announce`;
  const image = makeTorrent(server.imageDir, torrents, `image-${server.imageName}`, tracker, true);
  const conf6 = join(server.dir, 'rsyncd6.conf');
  writeFileSync(conf6, readFileSync(server.rsyncdConf, 'utf8').replace('address = 127.0.0.1', `address = ${SERVER}`).replace(/rsyncd\.pid/, 'rsyncd6.pid') + `\n[torrents]\n  path = ${torrents}\n  comment = torrents\n`);
  lab.daemon(s, 'rsyncd-v6', ['rsync', '--daemon', '--no-detach', `--config=${conf6}`, '--port=873', `--address=${SERVER}`, '--ipv6']);
  lab.daemon(s, 'syslog', [process.execPath, '-e', SYSLOG, SERVER]);
  lab.daemon(s, 'tracker', [process.execPath, await bundleEntry('./ipv6-tracker-entry.ts', lab.dir), SERVER, '6969']);
  lab.daemon(s, 'seeder', ['aria2c', '--seed-ratio=0.0', '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false', '--listen-port=6881',
    '--bt-require-crypto=false', '--summary-interval=0', '--console-log-level=warn', '-d', torrents, '-V', image.torrent]);
  // sshd on the IPv6 address only.
  for (const [n, t] of [['id_ed25519', 'ed25519'], ['ssh_host_ed25519_key', 'ed25519']]) execFileSync('ssh-keygen', ['-q', '-t', t!, '-N', '', '-C', `${n}@si-test`, '-f', key(n!)]);
  writeFileSync(key('authorized_keys'), readFileSync(key('id_ed25519.pub')));
  const conf = join(lab.dir, 'sshd_config');
  writeFileSync(conf, [`Port 22`, `ListenAddress ${SERVER}`, `HostKey ${key('ssh_host_ed25519_key')}`, `AuthorizedKeysFile ${key('authorized_keys')}`, 'StrictModes no', 'UsePAM no',
    'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'AllowTcpForwarding yes', `PidFile ${join(lab.dir, 'sshd.pid')}`, 'LogLevel VERBOSE', ''].join('\n'));
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  lab.daemon(s, 'sshd', ['/usr/sbin/sshd', '-D', '-e', '-f', conf]);
  await waitFor(() => /Server listening/.test(lab.log('sshd')), 10_000, `sshd: ${lab.log('sshd')}`);
  await waitFor(() => /listening/.test(lab.log('syslog')) && /listening/.test(lab.log('tracker')), 10_000, `syslog/tracker: ${lab.log('syslog')} ${lab.log('tracker')}`);
  await waitFor(() => /rsyncd version .* starting[\s\S]*rsyncd version .* starting/.test(existsSync(server.logFile) ? readFileSync(server.logFile, 'utf8') : ''), 10_000, `rsyncd: ${lab.log('rsyncd-lo')} ${lab.log('rsyncd-v6')}`);
  // aria2c checks its data (-V), then announces: the tracker lists it before the client asks.
  await waitFor(() => new RegExp(`announce ${SERVER} 6881`).test(lab.log('tracker')), 60_000, `aria2c's announce: ${lab.log('tracker')} ${lab.log('seeder')}`);
  loop = attachLoop(lab.dir, 'disk', 1024);
}, 120_000);

afterAll(async () => {
  detachLoops([loop].filter((l): l is Loop => l !== undefined));
  await lab?.cleanup();
});

describe.skipIf(!enabled)('transports over IPv6 only', () => {
  it('client-driven SSH to an IPv6-only image server, remote syslog to an IPv6 LOG_SERVER', async () => {
    const r = await install('ssh', `SSH=y LOG_SERVER=${SERVER} LOG_SERVER_PORT=5514`, ['--ssh-key', key('id_ed25519')]);
    expect(r.code, r.out).toBe(0);
    checkInstalled();
    expect(noIPv4(c)).toEqual([]);
    expect(r.events.find((e) => e.type === 'transport')).toMatchObject({ transport: 'ssh', peer: `root@${SERVER}:22` });
    expect(lab.log('sshd')).toMatch(new RegExp(`Accepted publickey for root from ${CLIENT} `));
    const rsyncLog = readFileSync(server.logFile, 'utf8');
    expect(rsyncLog).toMatch(new RegExp(`imaging_complete_${CLIENT}`));
    // The agent's lines reached the syslog listener from the client's IPv6 address, RFC 3164 framed.
    await waitFor(() => /Installation complete|status=100|finished/i.test(lab.log('syslog')), 5000, 'the last syslog lines').catch(() => undefined);
    const lines = lab.log('syslog').split('\n').filter((l) => l !== '' && l !== 'listening');
    expect(lines.length, lab.log('syslog')).toBeGreaterThan(10);
    expect(lines.every((l) => l.startsWith(`${CLIENT} <`))).toBe(true);
    expect(lines.some((l) => / si-agent\[\d+\]: .*lay down image|image/.test(l))).toBe(true);
  });

  it('BitTorrent: the tracker on [addr], the image from an IPv6 peer listed in peers6', async () => {
    const r = await install('bt', 'BITTORRENT=y');
    expect(r.code, r.out).toBe(0);
    checkInstalled();
    expect(noIPv4(c)).toEqual([]);
    // The agent announced from its IPv6 address and got the seeder as an IPv6 peer.
    expect(lab.log('tracker')).toMatch(new RegExp(`announce ${CLIENT} \\d+ started`));
    expect(r.msgs.some((m) => new RegExp(`^BitTorrent: [1-9][\\d.]* \\S+ downloaded from the image server`).test(m)), r.msgs.join('\n')).toBe(true);
    expect(r.events.some((e) => e.type === 'transport' && e.transport === 'bittorrent' && String(e.peer).startsWith(`${CLIENT}:`))).toBe(true);
  });

  it('server-driven SSH (SSHD=y): OpenSSH ssh pushes to the agent on its IPv6 address, rsync through the -R forward', async () => {
    const from = rsyncLogLength();
    let pusher: ChildProcess | undefined;
    const r = await install('sshd', 'SSHD=y SSHD_WAIT=45', ['--authorized-keys', key('id_ed25519.pub')], {
      net: NET6_NONAME,
      onStart: async (events) => {
        await waitFor(() => /waiting for the image server/.test(eventsText(events)), 60_000, 'the agent to wait for the push');
        // Exactly what si_pushinstall runs, the agent's IPv6 address as the host.
        pusher = lab.daemon(s, 'push6', pushArgv(key('id_ed25519'), CLIENT));
      },
    });
    expect(r.code, `${r.out}\n${lab.log('push6')}`).toBe(0);
    checkInstalled();
    expect(noIPv4(c)).toEqual([]);
    // Listening on the IPv6 address, the console naming it (no host name is known before the scripts come).
    expect(r.msgs.some((m) => new RegExp(`^SSH server on \\[${esc(CLIENT)}\\]:22, host keys SHA256:\\S{43} SHA256:\\S{43}; 1 authorized key`).test(m)), r.msgs.join('\n')).toBe(true);
    expect(r.msgs).toContain(`waiting for the image server; on it, run:  si_pushinstall --hosts ${CLIENT}`);
    expect(r.msgs.some((m) => / forwards its localhost:873; rsync goes through 127\.0\.0\.1:\d+$/.test(m))).toBe(true);
    expect(existsSync(join(lab.dir, 'sshd', 'tmp', 'si_pushupdate.completed'))).toBe(true);
    await expectPushedThroughForward(r, from, pusher, CLIENT);
  });

  it('server-driven SSH on dual stack: listens on both families; the push comes over IPv6 with an [::1] forward', async () => {
    ip('-n', s, 'addr', 'add', `${SERVER4}/24`, 'dev', 'vs0');
    try {
      const from = rsyncLogLength();
      let pusher: ChildProcess | undefined;
      let overIPv4: Awaited<ReturnType<typeof sshIn>> | undefined;
      const r = await install('sshd-dual', 'SSHD=y SSHD_WAIT=45', ['--authorized-keys', key('id_ed25519.pub')], {
        net: NET_DUAL,
        onStart: async (events) => {
          await waitFor(() => /waiting for the image server/.test(eventsText(events)), 60_000, 'the agent to wait for the push');
          // The IPv4 address answers too (an operator's command), then the push over IPv6.
          overIPv4 = await sshIn(s, key('id_ed25519'), ['-l', 'root', '-n', CLIENT4, 'echo over-$((2+2))']);
          pusher = lab.daemon(s, 'push-dual', pushArgv(key('id_ed25519'), CLIENT, `[::1]:873:localhost:873`));
        },
      });
      expect(r.code, `${r.out}\n${lab.log('push-dual')}`).toBe(0);
      checkInstalled();
      expect(overIPv4?.stdout, overIPv4?.stderr).toBe('over-4\n');
      expect(r.msgs.some((m) => new RegExp(`^SSH server on ${esc(CLIENT4)}:22 and \\[${esc(CLIENT)}\\]:22, host keys `).test(m)), r.msgs.join('\n')).toBe(true);
      expect(r.msgs).toContain('waiting for the image server; on it, run:  si_pushinstall --hosts node001');
      expect(r.msgs.some((m) => / forwards its \[::1\]:873; rsync goes through 127\.0\.0\.1:\d+$/.test(m))).toBe(true);
      // The image server is named by IPv4: imaging_complete keeps naming the IPv4 address.
      await expectPushedThroughForward(r, from, pusher, CLIENT4);
    } finally {
      ip('-n', s, 'addr', 'del', `${SERVER4}/24`, 'dev', 'vs0');
      ip('-n', c, '-4', 'addr', 'flush', 'dev', 'vc0');
    }
  });
});
