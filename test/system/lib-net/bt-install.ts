// Runs `si-agent install` over BitTorrent inside a BitTorrent lab client's namespace onto its own loop device, as the
// BitTorrent system tests do; the events come back parsed.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT } from '../lib/agent.js';
import { detachLoops, type Loop } from '../lib/loops.js';
import type { BtClient, BtLab } from './bt-lab.js';

export interface BtRun {
  code: number | null;
  out: string;
  events: Array<Record<string, unknown>>;
}

export interface BtInstallOptions {
  env?: NodeJS.ProcessEnv;
  /** Killed with SIGKILL after this long (default 180 s). */
  limitMs?: number;
  /** Sees the agent's process as soon as it runs (to signal it). */
  onSpawn?: (child: ChildProcess, eventsFile: string) => void;
}

/** Runs the install with BITTORRENT=y and the given extra words; SI_TMP is dir/tmp unless env says otherwise. */
export async function btInstall(lab: BtLab, c: BtClient, words: string, disk: string, dir: string, o: BtInstallOptions = {}): Promise<BtRun> {
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const events = join(dir, 'events.jsonl');
  const args = ['install', '--cmdline', `IMAGESERVER=${lab.serverIp} DEVICE=${c.dev} POST_ACTION=shutdown BITTORRENT=y ${words}`, '--local-cfg', '/dev/null', '--disk', disk,
    '--sysroot', join(dir, 'sysroot'), '--workdir', join(dir, 'work'), '--events', events, '--log', join(dir, 'si.log')];
  const child = spawn('ip', ['netns', 'exec', c.ns, process.execPath, AGENT, ...args], { env: { ...process.env, SI_TMP: join(dir, 'tmp'), ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  o.onSpawn?.(child, events);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), o.limitMs ?? 180_000);
  const code = await new Promise<number | null>((r) => child.on('close', (c2) => r(c2)));
  clearTimeout(timer);
  return { code, out, events: readEvents(events) };
}

/** The events written so far (a line still being written is left out). */
export function readEvents(file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  const out: Array<Record<string, unknown>> = [];
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    try {
      if (l) out.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      /* partial last line */
    }
  }
  return out;
}

/** The log messages among a run's events. */
export const btLogs = (r: BtRun): string[] => r.events.filter((e) => e.type === 'log').map((e) => String(e.message));

/** Adds the `torrents` module to the fixture rsync daemon's config and starts the daemon on the lab's server address. */
export function serveTorrentsModule(lab: BtLab, rsyncdConf: string, torrentsDir: string): void {
  const conf = readFileSync(rsyncdConf, 'utf8').replace('address = 127.0.0.1', `address = ${lab.serverIp}`);
  writeFileSync(rsyncdConf, `${conf}\n[torrents]\n  path = ${torrentsDir}\n  comment = torrents\n`);
  spawn('ip', ['netns', 'exec', lab.srv, 'rsync', '--daemon', '--no-detach', `--config=${rsyncdConf}`, '--port=873', `--address=${lab.serverIp}`], { stdio: 'ignore', detached: true }).unref();
}

/** Waits until something listens on a TCP port in the server namespace (aria2c checks its data with -V first). */
export async function waitListening(lab: BtLab, port: number, tries = 300): Promise<void> {
  for (let i = 0; i < tries && !lab.exec(lab.srv, ['ss', '-ltn']).includes(`:${port} `); i++) await new Promise((r) => setTimeout(r, 100));
}

/** Unmounts what a test mounted, detaches its loops, removes the lab and the work directory (errors ignored). */
export function tearDown(mounted: string[], loops: Loop[], lab: BtLab | undefined, work: string): void {
  for (const m of mounted.splice(0)) {
    try {
      execFileSync('umount', [m], { stdio: 'ignore' });
    } catch {
      /* not mounted */
    }
  }
  detachLoops(loops);
  lab?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
}
