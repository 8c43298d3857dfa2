// The reliability tests' lab: an image-server namespace (rsync daemon, optional monitor listener) and N client
// namespaces on one bridge, each with its own loop disk; installs run the bundled agent in a client namespace.
// Needs root (namespaces, loop devices). Everything is removed by cleanup().

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { createLab, type Lab, waitFor } from '../system/lib-net/netns.js';
import { attachLoop, detachLoops, type Loop } from '../system/lib/loops.js';
import { AGENT } from '../system/lib/agent.js';

export interface Client {
  ns: string;
  ip: string;
  loop: Loop;
}

export interface RelLab {
  lab: Lab;
  server: ImageServerInfo;
  serverNs: string;
  serverIp: string;
  clients: Client[];
  /** Starts (or starts again) the rsync daemon on the server's bridge address; resolves when it listens. */
  startRsyncd(): Promise<ChildProcess>;
  /** SIGKILLs the daemon and every connection child it has (its process group). */
  killRsyncd(): void;
  cleanup(): Promise<void>;
}

export const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Builds the lab: server namespace with bridge `br0` at NET.1, clients NET.11.. on veths, hosts file naming each node001. */
export async function createRelLab(tag: string, net: string, nClients: number, diskMiB = 1024): Promise<RelLab> {
  const lab = createLab(tag);
  const serverNs = lab.ns('s');
  const serverIp = `${net}.1`;
  sh('ip', ['-n', serverNs, 'link', 'add', 'br0', 'type', 'bridge']);
  sh('ip', ['-n', serverNs, 'addr', 'add', `${serverIp}/24`, 'dev', 'br0']);
  sh('ip', ['-n', serverNs, 'link', 'set', 'br0', 'up']);
  const server = await makeImageServer(join(lab.dir, 'server'));
  const clients: Client[] = [];
  for (let i = 0; i < nClients; i++) {
    const ns = lab.ns(`c${i}`);
    const ip = `${net}.${11 + i}`;
    lab.veth({ ns, name: 'eth0' }, { ns: serverNs, name: `p${i}` });
    sh('ip', ['-n', serverNs, 'link', 'set', `p${i}`, 'master', 'br0']);
    sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    appendFileSync(join(server.scriptsDir, 'hosts'), `${ip} node001.cluster node001\n`);
    clients.push({ ns, ip, loop: attachLoop(lab.dir, `disk${i}`, diskMiB) });
  }
  let daemon: ChildProcess | null = null;
  let starts = 0;
  return {
    lab,
    server,
    serverNs,
    serverIp,
    clients,
    async startRsyncd() {
      const log = `rsyncd-${starts++}`;
      daemon = lab.daemon(serverNs, log, ['rsync', '--daemon', '--no-detach', `--config=${server.rsyncdConf}`, '--port=873', `--address=${serverIp}`]);
      await waitFor(() => /rsyncd version .* starting/.test(lab.log(log)) || (existsSync(server.logFile) && (readFileSync(server.logFile, 'utf8').match(/rsyncd version .* starting/g) ?? []).length >= starts), 10_000, `rsyncd: ${lab.log(log)}`);
      return daemon;
    },
    killRsyncd() {
      if (daemon?.pid) process.kill(-daemon.pid, 'SIGKILL');
    },
    async cleanup() {
      detachLoops(clients.map((c) => c.loop));
      await lab.cleanup();
    },
  };
}

export interface InstallRun {
  code: number | null;
  out: string;
  events: Array<Record<string, unknown>>;
  work: string;
}

/** Runs `si-agent install` in the client's namespace onto its loop disk; onStart gets the events file while it runs. */
export async function installIn(rl: RelLab, c: Client, name: string, words: string, opts: { env?: NodeJS.ProcessEnv; onStart?: (events: string) => Promise<void>; timeoutMs?: number } = {}): Promise<InstallRun> {
  const work = join(rl.lab.dir, name);
  mkdirSync(work, { recursive: true });
  const events = join(work, 'events.jsonl');
  const child = spawn('ip', ['netns', 'exec', c.ns, process.execPath, AGENT, 'install', '--cmdline', `IMAGESERVER=${rl.serverIp} POST_ACTION=shutdown ${words}`, '--local-cfg', '/dev/null',
    '--disk', c.loop.dev, '--sysroot', join(work, 'sysroot'), '--workdir', join(work, 'w'), '--events', events, '--log', join(work, 'si.log')],
  { env: { ...process.env, SI_TMP: work, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 240_000);
  const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  let code: number | null;
  try {
    if (opts.onStart) await opts.onStart(events);
  } finally {
    code = await closed;
    clearTimeout(timer);
  }
  const evs = existsSync(events) ? readFileSync(events, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  return { code, out, events: evs, work };
}

/** Waits until the events file shows the image step under way and at least `percent` laid down. */
export async function waitForImageProgress(events: string, percent: number): Promise<void> {
  await waitFor(() => {
    if (!existsSync(events)) return false;
    return readFileSync(events, 'utf8').split('\n').some((l) => /"type":"progress"/.test(l) && /"phase":"image"/.test(l) && Number(/"percent":(\d+)/.exec(l)?.[1] ?? 0) >= percent);
  }, 120_000, `image copy at ${percent}%`);
}

/** Mounts the client's installed root (partition 2) read-only and runs check on it. */
export async function withInstalledRoot(rl: RelLab, c: Client, check: (root: string) => Promise<void> | void): Promise<void> {
  const mnt = join(rl.lab.dir, `check-${c.ns}`);
  mkdirSync(mnt, { recursive: true });
  sh('mount', ['-o', 'ro', `${c.loop.dev}p2`, mnt]);
  try {
    await check(mnt);
  } finally {
    sh('umount', [mnt]);
  }
}
