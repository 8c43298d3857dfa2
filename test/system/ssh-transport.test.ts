// System test (root): both SSH transports against real OpenSSH. An image-server namespace runs OpenSSH's sshd (its own
// config, host key and authorized_keys in a temp dir) and `rsync --daemon` on its own 127.0.0.1:873; a client namespace
// runs `si-agent install` onto a loop device. Client-driven: the agent tunnels to sshd with ed25519/ecdsa/rsa keys.
// Server-driven: OpenSSH's ssh in the image-server namespace runs what si_pushinstall runs against the agent's server.
// Needs root (namespaces, loop devices, mkfs, mount) and openssh-server/openssh-client. Creates /run/sshd when missing
// (sshd's privilege-separation directory; the openssh-server package makes the same one).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { canRunNetTests, createLab, type Lab, waitFor } from './lib-net/netns.js';
import { attachLoop, detachLoops, headHash, type Loop } from './lib/loops.js';
import { AGENT } from './lib/agent.js';
import { sshArgv } from './lib-net/ssh-push.js';

const enabled = canRunNetTests() && existsSync('/usr/sbin/sshd');
const NET = '10.214.8';
const SERVER = `${NET}.1`;
const CLIENT = `${NET}.2`;
let lab: Lab;
let server: ImageServerInfo;
let loop: Loop | undefined;
let s = '';
let c = '';
let hostFingerprint = '';
let sshdPid = 0;
const key = (name: string) => join(lab.dir, 'keys', name);

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A private key of the given type (and its .pub) under the lab's keys directory. */
function makeKey(name: string, type: string, bits?: number): void {
  sh('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-C', `${name}@si-test`, '-f', key(name)]);
}

function acceptedSessions(): number {
  return (lab.log('sshd').match(/Accepted publickey for root/g) ?? []).length;
}

interface Run {
  code: number | null;
  out: string;
  events: Array<Record<string, unknown>>;
}

/** Runs `si-agent install` in the client namespace with the given kernel command line words and options. */
async function install(name: string, words: string, extra: string[], env: NodeJS.ProcessEnv = {}, onStart?: (eventsFile: string) => Promise<void>): Promise<Run> {
  const work = join(lab.dir, name);
  mkdirSync(work, { recursive: true });
  const events = join(work, 'events.jsonl');
  const child = spawn('ip', ['netns', 'exec', c, process.execPath, AGENT, 'install', '--cmdline', `IMAGESERVER=${SERVER} POST_ACTION=shutdown ${words}`, '--local-cfg', '/dev/null',
    '--disk', loop!.dev, '--sysroot', join(work, 'sysroot'), '--workdir', join(work, 'w'), '--events', events, '--log', join(work, 'si.log'), ...extra],
  { env: { ...process.env, SI_TMP: work, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  if (onStart) await onStart(events);
  const code = await closed;
  clearTimeout(timer);
  const evs = existsSync(events) ? readFileSync(events, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  return { code, out, events: evs };
}

/** Mounts the installed root read-only and checks it holds the image, its overrides and the post-install marker. */
function checkInstalled(): void {
  const mnt = join(lab.dir, 'check');
  mkdirSync(mnt, { recursive: true });
  sh('mount', ['-o', 'ro', `${loop!.dev}p2`, mnt]);
  try {
    expect(readFileSync(join(mnt, 'etc/systemimager/IMAGE_LAST_SYNCED_TO'), 'utf8').trim()).toBe(server.imageName);
    expect(readFileSync(join(mnt, 'etc/shared-gc'), 'utf8')).toBe('compute\n');
    expect(readFileSync(join(mnt, 'root/post-install-ran'), 'utf8')).toContain('chrooted=yes');
    expect(readFileSync(join(mnt, 'home/user/odd name\nwith newline ü ✓.txt')).length).toBeGreaterThan(0);
  } finally {
    sh('umount', [mnt]);
  }
}

beforeAll(async () => {
  if (!enabled) return;
  lab = createLab('ssh');
  mkdirSync(join(lab.dir, 'keys'));
  server = await makeImageServer(join(lab.dir, 'server'));
  writeFileSync(join(server.scriptsDir, 'hosts'), `${CLIENT} node001.cluster node001\n`, { flag: 'a' });
  s = lab.ns('ss');
  c = lab.ns('sc');
  lab.veth({ ns: c, name: 'vc0' }, { ns: s, name: 'vs0', cidr: `${SERVER}/24` });
  sh('ip', ['-n', c, 'addr', 'add', `${CLIENT}/24`, 'dev', 'vc0']);
  lab.daemon(s, 'rsyncd', ['rsync', '--daemon', '--no-detach', `--config=${server.rsyncdConf}`, '--port=873', '--address=127.0.0.1']);
  for (const [n, t, b] of [['id_ed25519', 'ed25519'], ['id_ecdsa', 'ecdsa', 256], ['id_rsa', 'rsa', 3072], ['stranger', 'ed25519'], ['pusher', 'ed25519'], ['ssh_host_ed25519_key', 'ed25519']] as Array<[string, string, number?]>) makeKey(n, t, b);
  writeFileSync(key('authorized_keys'), ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((n) => readFileSync(key(`${n}.pub`), 'utf8')).join(''));
  hostFingerprint = sh('ssh-keygen', ['-lf', key('ssh_host_ed25519_key.pub')]).split(' ')[1]!;
  const conf = join(lab.dir, 'sshd_config');
  writeFileSync(conf, [`Port 22`, `ListenAddress ${SERVER}`, `HostKey ${key('ssh_host_ed25519_key')}`, `AuthorizedKeysFile ${key('authorized_keys')}`, 'StrictModes no', 'UsePAM no',
    'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'AllowTcpForwarding yes', `PidFile ${join(lab.dir, 'sshd.pid')}`, 'LogLevel VERBOSE', ''].join('\n'));
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  sshdPid = lab.daemon(s, 'sshd', ['/usr/sbin/sshd', '-D', '-e', '-f', conf]).pid!;
  // authorized_keys for the server-driven case, served over HTTP as SSH_DOWNLOAD_URL/<arch>/ssh/authorized_keys.
  const served = readFileSync(key('pusher.pub'), 'utf8');
  lab.daemon(s, 'http', [process.execPath, '-e', `require('http').createServer((q, r) => { if (q.url === '/si/x86_64/ssh/authorized_keys') r.end(${JSON.stringify(served)}); else { r.statusCode = 404; r.end(); } }).listen(8080, '${SERVER}', () => console.log('http up'))`]);
  await waitFor(() => /Server listening/.test(lab.log('sshd')), 10_000, `sshd: ${lab.log('sshd')}`);
  await waitFor(() => /http up/.test(lab.log('http')), 10_000, `http: ${lab.log('http')}`);
  await waitFor(() => existsSync(server.logFile) && /starting/.test(readFileSync(server.logFile, 'utf8')), 10_000, `rsyncd: ${lab.log('rsyncd')}`);
  loop = attachLoop(lab.dir, 'disk', 1024);
});

afterAll(async () => {
  if (!enabled) return;
  spawnSync('pkill', ['-f', key('pusher')]);
  if (loop) detachLoops([loop]);
  await lab?.cleanup();
});

describe.skipIf(!enabled)('client-driven SSH (SSH=y): the agent tunnels to OpenSSH sshd', () => {
  it.each([
    ['ed25519', 'id_ed25519', true],
    ['ecdsa', 'id_ecdsa', false],
    ['rsa', 'id_rsa', false],
  ])('installs through the tunnel with an %s key', async (_t, keyName, pin) => {
    const before = acceptedSessions();
    const r = await install(`tunnel-${keyName}`, `SSH=y${pin ? ` SSH_HOST_KEY=${hostFingerprint}` : ''}`, ['--ssh-key', key(keyName)]);
    expect(r.code, r.out).toBe(0);
    checkInstalled();
    // One authenticated SSH session carried every rsync connection (scripts, module list, image, overrides, notice).
    expect(acceptedSessions() - before).toBe(1);
    const t = r.events.find((e) => e.type === 'transport');
    expect(t).toMatchObject({ transport: 'ssh', fingerprint: hostFingerprint, peer: `root@${SERVER}:22` });
    expect(String(t!.detail)).toMatch(/cipher aes128-gcm@openssh\.com/);
    // The rsync daemon saw every request come from its own loopback: the tunnel, not the veth.
    const rsyncLog = readFileSync(server.logFile, 'utf8');
    expect(rsyncLog).toMatch(/connect from .*\(127\.0\.0\.1\)/);
    expect(rsyncLog).not.toMatch(new RegExp(`connect from .*\\(${CLIENT.replace(/\./g, '\\.')}\\)`));
    expect(rsyncLog).toMatch(new RegExp(`imaging_complete_${CLIENT.replace(/\./g, '\\.')}`));
    const warned = r.events.some((e) => e.type === 'log' && /not pinned: trusted on first use/.test(String(e.message)));
    expect(warned).toBe(!pin);
  });

  it('the connection drops during the image copy: the agent connects again and rsync resumes', async () => {
    const before = acceptedSessions();
    // The server's side of the link slowed to 40 Mbit/s, so the copy is still running when the session is killed.
    sh('ip', ['netns', 'exec', s, 'tc', 'qdisc', 'add', 'dev', 'vs0', 'root', 'tbf', 'rate', '40mbit', 'burst', '64kb', 'latency', '200ms']);
    try {
      const r = await install('tunnel-drop', 'SSH=y', ['--ssh-key', key('id_ed25519')], {}, async (events) => {
        await waitFor(() => existsSync(events) && /"step":"image"/.test(readFileSync(events, 'utf8')), 60_000, 'the image step');
        await new Promise((res) => setTimeout(res, 1500));
        // Only the per-connection children of this test's sshd: the listener stays, the agent's session dies.
        expect(spawnSync('pkill', ['-KILL', '-P', String(sshdPid)]).status).toBe(0);
      });
      expect(r.code, r.out).toBe(0);
      checkInstalled();
      expect(r.out).toMatch(/SSH connection to root@10\.214\.8\.1:22 dropped/);
      expect(r.events.some((e) => e.type === 'retry' && /lay down image/.test(String(e.what)))).toBe(true);
      expect(acceptedSessions() - before).toBe(2);
    } finally {
      spawnSync('ip', ['netns', 'exec', s, 'tc', 'qdisc', 'del', 'dev', 'vs0', 'root']);
    }
  });

  const refusals: Array<[string, string, string[], RegExp]> = [
    ['a key the server does not know', 'SSH=y', ['--ssh-key', 'stranger'], /refused user root with every key tried: .*stranger \(ssh-ed25519\)/],
    ['an unknown user', 'SSH=y SSH_USER=nosuchuser', ['--ssh-key', 'id_ed25519'], /refused user nosuchuser with every key tried: .*id_ed25519/],
    ['a host key other than SSH_HOST_KEY', 'SSH=y SSH_HOST_KEY=SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', ['--ssh-key', 'id_ed25519'], /host key of 10\.214\.8\.1:22 is SHA256:\S+, not SHA256:A{43} \(SSH_HOST_KEY from cmdline\): refusing to log in/],
    ['an SSH server that is down', 'SSH=y IMAGESERVER=127.0.0.1', ['--ssh-key', 'id_ed25519'], /SSH to root@127\.0\.0\.1:22 failed after 4 attempts.*ECONNREFUSED/],
  ];
  it.each(refusals)('refuses %s before any disk write, exit 2', async (_what, words, extra, message) => {
    const args = extra.map((a) => (a.startsWith('--') ? a : key(a)));
    const before = headHash(loop!.dev);
    const sessions = acceptedSessions();
    const r = await install(`refuse-${words.replace(/\W+/g, '-')}`, words, args);
    expect(r.code, r.out).toBe(2);
    expect(r.out).toMatch(message);
    expect(r.out).toMatch(/in step "fetch-scripts"/);
    expect(r.out).toContain('no disk was written');
    expect(headHash(loop!.dev)).toBe(before);
    expect(acceptedSessions()).toBe(sessions);
  });
});

describe.skipIf(!enabled)('server-driven SSH (SSHD=y): OpenSSH ssh pushes as si_pushinstall does', () => {
  const ssh = (keyName: string, args: string[]) =>
    spawnSync('ip', ['netns', 'exec', s, ...sshArgv(key(keyName), args)], { encoding: 'utf8', timeout: 60_000 });

  it('with no authorized key anywhere: a clear error before waiting', async () => {
    const empty = join(lab.dir, 'no-keys');
    mkdirSync(empty);
    const r = await install('sshd-nokeys', 'SSHD=y', [], { SI_SSH_DIR: empty });
    expect(r.code, r.out).toBe(2);
    expect(r.out).toMatch(/SSHD=y but no authorized key/);
  });

  it('gives up after SSHD_WAIT seconds with nobody pushing', async () => {
    const r = await install('sshd-wait', 'SSHD=y SSHD_WAIT=2', ['--authorized-keys', key('pusher.pub')]);
    expect(r.code, r.out).toBe(2);
    // The host name comes from the scripts directory, which arrives through the push: the console names the address.
    expect(r.out).toMatch(/waiting for the image server; on it, run: {2}si_pushinstall --hosts 10\.214\.8\.2\n/);
    expect(r.out).toMatch(/did not push within SSHD_WAIT=2 s: run si_pushinstall --hosts 10\.214\.8\.2 on it/);
    expect(r.out).toContain('no disk was written');
  });

  it('keys from SSH_DOWNLOAD_URL; refuses a stranger and a forward of another port; the push installs', async () => {
    const empty = join(lab.dir, 'no-keys-2');
    mkdirSync(empty);
    const tmp = join(lab.dir, 'sshd-push');
    let stranger: ReturnType<typeof ssh> | undefined;
    let otherPort: ReturnType<typeof ssh> | undefined;
    let operator: ReturnType<typeof ssh> | undefined;
    let push: ReturnType<typeof ssh> | undefined;
    const r = await install('sshd-push', `SSHD=y SSHD_WAIT=120 SSH_DOWNLOAD_URL=http://${SERVER}:8080/si/`, [], { SI_SSH_DIR: empty }, async (events) => {
      await waitFor(() => existsSync(events) && /waiting for the image server/.test(readFileSync(events, 'utf8')), 60_000, 'the agent to wait for the push');
      stranger = ssh('stranger', ['-l', 'root', CLIENT, 'true']);
      otherPort = ssh('pusher', ['-o', 'ExitOnForwardFailure=yes', '-l', 'root', '-n', '-R8873:localhost:873', CLIENT, 'true']);
      operator = ssh('pusher', ['-l', 'root', '-n', CLIENT, 'echo operator-$((6*7))']);
      // Exactly what si_pushinstall runs (with the key given by path).
      push = ssh('pusher', ['-o', 'ServerAliveInterval=60', '-l', 'root', '-n', '-f', '-R873:localhost:873', CLIENT, 'sleep 100000 > /tmp/si_pushupdate.completed']);
    });
    expect(r.code, r.out).toBe(0);
    expect(stranger!.status).toBe(255);
    expect(stranger!.stderr).toMatch(/Permission denied \(publickey\)/);
    expect(otherPort!.status).toBe(255);
    expect(otherPort!.stderr).toMatch(/remote port forwarding failed for listen port 8873/);
    expect(operator!.stdout).toBe('operator-42\n');
    expect(push!.status, push!.stderr).toBe(0);
    checkInstalled();
    expect(existsSync(join(tmp, 'si_pushupdate.completed'))).toBe(true);
    const t = r.events.find((e) => e.type === 'transport');
    expect(t).toMatchObject({ transport: 'sshd' });
    expect(String(t!.peer)).toMatch(/^SHA256:\S+ \(pusher@si-test\) from 10\.214\.8\.1$/);
    expect(r.out).toMatch(/SSH server on 10\.214\.8\.2:22, host keys SHA256:\S{43} SHA256:\S{43}/);
    const rsyncLog = readFileSync(server.logFile, 'utf8');
    expect(rsyncLog).toMatch(/imaging_complete_10\.214\.8\.2/);
    // The session is closed when the install is done: si_pushinstall's background ssh has exited.
    await waitFor(() => spawnSync('pgrep', ['-f', key('pusher')]).status !== 0, 10_000, 'the pushing ssh to exit');
  });
});
