// What the install benchmarks share: a two-partition layout, loop disks, medians, a warm page cache.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** gpt: 256 MB swap, the rest ext4 root (LABEL=root): the same layout for the agent and for any bare baseline. */
export const SWAP_ROOT_LAYOUT = `<config>
  <disk dev="/dev/sda" label_type="gpt" unit_of_measurement="MB">
    <part num="1" size="256" p_type="primary" p_name="swap" flags="-" />
    <part num="2" size="*" p_type="primary" p_name="root" flags="-" />
  </disk>
  <fsinfo line="10" real_dev="/dev/sda2" mount_dev="LABEL=root" mp="/" fs="ext4" options="defaults" dump="1" pass="1" />
  <fsinfo line="20" real_dev="/dev/sda1" mp="swap" fs="swap" options="defaults" dump="0" pass="0" />
</config>
`;

/** Runs a command (argv), returns its stdout; throws with its stderr on failure. */
export const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

/** A sparse file of mib attached as a loop device with partition scanning (made anew each time). */
export function newLoop(dir: string, name: string, mib: number): string {
  const file = join(dir, `${name}.img`);
  rmSync(file, { force: true });
  const fd = openSync(file, 'w');
  ftruncateSync(fd, mib * 1024 * 1024);
  closeSync(fd);
  return sh('losetup', ['-fP', '--show', file]).trim();
}

/** The median of the numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** The agent's `peak RSS N MiB` figure from its log or events text, or 0. */
export function peakRssOf(text: string): number {
  return Math.max(0, ...[...text.matchAll(/peak RSS ([\d.]+) MiB/g)].map((m) => Number(m[1])));
}

/** Reads every file of dir once, so the first timed run does not pay for a cold page cache. */
export async function warmCache(dir: string): Promise<void> {
  const tar = spawn('tar', ['-cf', '-', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'ignore'] });
  tar.stdout.resume();
  await new Promise((r) => tar.on('close', r));
}

/** Milliseconds per named phase of one run (a step, a command, a baseline command), summed when a name repeats. */
export type Timeline = Map<string, number>;

/** Adds ms to the phase `name` of a run's timeline. */
export function addTime(t: Timeline, name: string, ms: number): void {
  t.set(name, (t.get(name) ?? 0) + ms);
}

/**
 * The agent's timeline from its --events JSON lines: `startup` (spawn to its first event), each step's duration, each
 * command's under the step it started in (`  step: tool`), and `exit` (last event to process end). Times are wall clock.
 */
export function agentTimeline(eventsText: string, spawnedMs: number, exitedMs: number): Timeline {
  const t: Timeline = new Map();
  let step = '';
  // A command is listed under the step it started in (the image size listing runs on into later steps).
  const startedIn = new Map<string, string>();
  let first = 0;
  let last = 0;
  for (const line of eventsText.split('\n')) {
    if (!line.trim()) continue;
    const e = JSON.parse(line) as { type: string; ts: number; step?: string; ms?: number; argv?: string[] };
    first ||= e.ts;
    last = e.ts;
    if (e.type === 'step-start') {
      step = e.step!;
      addTime(t, `step ${step}`, 0);
    } else if (e.type === 'step-end') addTime(t, `step ${e.step}`, e.ms!);
    else if (e.type === 'command') startedIn.set(e.argv!.join('\0'), step);
    else if (e.type === 'command-end') addTime(t, `  ${startedIn.get(e.argv!.join('\0')) ?? step}: ${commandLabel(e.argv!)}`, e.ms!);
  }
  t.set('startup (spawn to first event)', first - spawnedMs);
  t.set('exit (last event to process end)', exitedMs - last);
  return t;
}

/** A short name for a command: the tool, and for rsync and chroot what it is about. */
function commandLabel(argv: string[]): string {
  const tool = argv[0]!.split('/').pop()!;
  if (tool === 'rsync') {
    const url = argv.find((a) => a.startsWith('rsync://'));
    const dry = argv.includes('-n') ? ' (dry run)' : '';
    return `rsync ${url ? url.replace(/^rsync:\/\/[^/]+\/?/, '') || '(module list)' : 'local'}${dry}`;
  }
  if (tool === 'chroot') return `chroot ${argv.slice(2).join(' ').slice(0, 40)}`;
  return tool;
}

/** Prints the median of each phase over the runs, in first-seen order, with the median total alongside. */
export function formatTimelines(title: string, runs: Timeline[]): string[] {
  const names: string[] = [];
  for (const r of runs) for (const k of r.keys()) if (!names.includes(k)) names.push(k);
  const out = [`${title} (median ms over ${runs.length} runs)`];
  for (const n of names) out.push(`  ${n.padEnd(60)} ${median(runs.map((r) => r.get(n) ?? 0)).toFixed(0).padStart(7)}`);
  return out;
}

/** The Debian-size image the benches run on by default: the debootstrapped bookworm root the fixtures build once into
 *  .cache/debootstrap (fixtures/target/build-debian-root.sh, about 3 minutes the first time; about 850 MB). */
export function debianImageDir(): string {
  const root = join(import.meta.dirname, '..');
  const r = spawnSync('bash', [join(root, 'fixtures/target/build-debian-root.sh'), join(root, '.cache/debootstrap')], { encoding: 'utf8', timeout: 15 * 60 * 1000 });
  if (r.status !== 0) throw new Error(`could not build the Debian image (.cache/debootstrap): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' / ')}`);
  return r.stdout.trim();
}
