// Benchmark: `si-agent install` of an image against a bare baseline of the same partitioning, filesystems and image
// copy, as bare commands, both from the same rsync daemon onto the same kind of loop device, in the same run. Needs root.
// Usage: node bench/rsync-install.ts [IMAGE_DIR]   (default: the fixture image). Env BENCH_ROUNDS (default 3),
// SI_AGENT_BUNDLE (the agent bundle to run, default dist/si-agent.cjs).
//
// Fair both ways: the baseline copies what the agent must copy by SPEC 7, the image with -AX (both images have xattrs
// or ACLs) and the host's overrides (one rsync run, most important first, as the agent does), then sync and umount.
// It does none of the rest of the agent's work: reading parameters, the scripts module, checking the layout and the
// image size against the disks, pre/post-install scripts, fstab, configuring the installed system (hostname,
// network, SSH host keys, boot loader), telling the image server. Those steps are timed and printed on their own.
// The fixture's autoinstall script sets BOOTLOADER=none, so no boot loader is installed here, on either image.
// Output: the agent's per-step timeline and the baseline's per-command times (medians), then
//   `ratio-same-work <agent/baseline>`: for information, the agent's wall time less its steps the baseline has no
//   part of (what is left: process start and exit, partition, image, overrides, unmount, the notification), and last
//   `ratio <agent/baseline>`: the figure, the agent's whole install against the baseline, both wall time.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeImageServer, startRsyncd } from '../fixtures/image-server/make-image-server.ts';
import { addTime, agentTimeline, formatTimelines, median, peakRssOf, newLoop, sh, SWAP_ROOT_LAYOUT, type Timeline } from './bench-lib.ts';

const ROOT = resolve(import.meta.dirname, '..');
// SI_AGENT_BUNDLE: another build of the agent (an earlier commit's, to compare).
const AGENT = process.env.SI_AGENT_BUNDLE ?? join(ROOT, 'dist/si-agent.cjs');
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const imageArg = process.argv[2] ? resolve(process.argv[2]) : undefined;


/** Runs the agent, sampling its own CPU time (utime+stime of the node process, not its children) every 20 ms. */
async function runSampled(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; cpu: Array<[number, number]> }> {
  const child = spawn(cmd, args, { stdio: 'ignore', env });
  const tick = 1000 / Number(sh('getconf', ['CLK_TCK']).trim());
  const cpu: Array<[number, number]> = [];
  const sample = () => {
    try {
      const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      cpu.push([Date.now(), (Number(f[11]) + Number(f[12])) * tick]);
    } catch {
      /* gone */
    }
  };
  const timer = setInterval(sample, 20);
  const status = await new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  clearInterval(timer);
  return { status, cpu };
}

/** Adds `cpu <step>` entries: the agent process's own CPU ms during each step, from the samples around its start and end. */
function addCpuPerStep(t: Timeline, eventsText: string, cpu: Array<[number, number]>): void {
  const at = (ts: number) => [...cpu].reverse().find(([when]) => when <= ts)?.[1] ?? 0;
  const starts = new Map<string, number>();
  for (const l of eventsText.split('\n')) {
    if (!l.trim()) continue;
    const e = JSON.parse(l) as { type: string; step?: string; ts: number };
    if (e.type === 'step-start') starts.set(e.step!, e.ts);
    if (e.type === 'step-end' && starts.has(e.step!)) addTime(t, `  ${e.step}: agent process CPU`, at(e.ts) - at(starts.get(e.step!)!));
  }
}

/** Names of QEMU processes running now (another benchmark or boot test on this machine makes the figures noisy). */
function qemusRunning(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (comm.startsWith('qemu-system')) out.push(`${comm} (${pid})`);
    } catch {
      // gone
    }
  }
  return out;
}

/** Steps of the agent the baseline has no part of (see the header). */
const AGENT_ONLY_STEPS = ['read-parameters', 'client-address', 'reporting', 'fetch-scripts', 'identify', 'pre-install', 'choose-script', 'plan-disks', 'finalize', 'configure', 'post-install', 'bittorrent-seed', 'post-action'];

/** The baseline: the same partitioning, filesystems and image copy, as bare commands; each command's time goes into t. */
function baseline(dev: string, port: number, module: string, overrides: string[], mnt: string, t: Timeline): void {
  const run = (cmd: string, args: string[], label = cmd) => {
    const t0 = process.hrtime.bigint();
    sh(cmd, args);
    addTime(t, label, Number(process.hrtime.bigint() - t0) / 1e6);
  };
  run('wipefs', ['-a', dev]);
  run('parted', ['-s', '-a', 'optimal', dev, 'unit', 'MiB', 'mklabel', 'gpt', 'mkpart', 'swap', 'linux-swap', '1', '257', 'mkpart', 'root', '257', '100%']);
  run('partprobe', [dev]);
  run('udevadm', ['settle']);
  run('mkswap', [`${dev}p1`]);
  run('mkfs.ext4', ['-q', '-F', '-L', 'root', `${dev}p2`]);
  mkdirSync(mnt, { recursive: true });
  run('mount', [`${dev}p2`, mnt]);
  try {
    run('rsync', ['-aHSAX', '--numeric-ids', '--exclude=lost+found/', '--exclude=/proc/*', `rsync://127.0.0.1:${port}/${module}/`, `${mnt}/`], 'rsync image');
    const sources = [...overrides].reverse().map((o) => `rsync://127.0.0.1:${port}/overrides/${o}/`);
    if (sources.length) run('rsync', ['-aHSAX', '--ignore-times', '--numeric-ids', ...sources, `${mnt}/`], 'rsync overrides');
  } finally {
    run('sync', []);
    run('umount', [mnt]);
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'si-bench-'));
  const server = await makeImageServer(join(work, 'server'));
  let module = server.imageName;
  if (imageArg) {
    module = 'bench-image';
    appendFileSync(server.rsyncdConf, `\n[${module}]\n  path = ${imageArg}\n  comment = benchmark image\n`);
    // Any directory may be given, not only a bootable root: post-install scripts need the fixture image's shell.
    rmSync(join(server.scriptsDir, 'post-install'), { recursive: true, force: true });
  }
  writeFileSync(join(server.scriptsDir, 'disks-layouts', 'node001.xml'), SWAP_ROOT_LAYOUT);
  const imageMiB = Math.ceil(Number(sh('du', ['-sxm', imageArg ?? server.imageDir]).split('\t')[0]));
  const diskMiB = Math.max(2048, imageMiB * 2 + 1024);
  const rsyncd = await startRsyncd(server.dir);
  const agentTimes: number[] = [];
  const baseTimes: number[] = [];
  const agentLines: Timeline[] = [];
  const baseLines: Timeline[] = [];
  let peakRss = 0;
  const loops: string[] = [];
  const busy = new Set<string>();
  try {
    for (let i = 0; i < rounds; i++) {
      for (const q of qemusRunning()) busy.add(q);
      // Alternate which goes first so caches favour neither.
      const order = i % 2 === 0 ? ['agent', 'baseline'] : ['baseline', 'agent'];
      for (const who of order) {
        const dev = newLoop(work, who, diskMiB);
        loops.push(dev);
        const t0 = process.hrtime.bigint();
        const spawned = Date.now();
        if (who === 'agent') {
          const events = join(work, `events-${i}.jsonl`);
          const r = await runSampled(process.execPath, [AGENT, 'install', '--cmdline', `IMAGESERVER=127.0.0.1 IMAGENAME=${module} SCRIPTNAME=${server.imageName} POST_ACTION=shutdown`,
            '--local-cfg', '/dev/null', '--rsync-port', String(rsyncd.port), '--disk', dev, '--sysroot', join(work, 'sysroot'), '--workdir', join(work, `w${i}`),
            '--events', events, '--log', join(work, 'si.log')], { ...process.env, SI_TMP: work });
          if (r.status !== 0) {
            const kept = join(tmpdir(), 'si-bench-failed.log');
            writeFileSync(kept, readFileSync(join(work, 'si.log')));
            throw new Error(`agent install failed (${r.status}): see ${kept}`);
          }
          agentTimes.push(Number(process.hrtime.bigint() - t0) / 1e9);
          const eventsText = readFileSync(events, 'utf8');
          const line = agentTimeline(eventsText, spawned, Date.now());
          addCpuPerStep(line, eventsText, r.cpu);
          agentLines.push(line);
          peakRss = Math.max(peakRss, peakRssOf(eventsText));
        } else {
          const t = new Map<string, number>();
          baseline(dev, rsyncd.port, module, server.overrides, join(work, 'mnt'), t);
          baseLines.push(t);
          baseTimes.push(Number(process.hrtime.bigint() - t0) / 1e9);
        }
        sh('losetup', ['-d', dev]);
        loops.pop();
        rmSync(join(work, `${who}.img`), { force: true });
      }
    }
  } finally {
    for (const l of loops) spawnSync('losetup', ['-d', l]);
    await rsyncd.stop();
    rmSync(work, { recursive: true, force: true });
  }
  const a = median(agentTimes);
  const b = median(baseTimes);
  console.log(`image: ${imageArg ?? 'fixture image'} (${imageMiB} MiB on disk), disk ${diskMiB} MiB, rounds ${rounds}`);
  if (busy.size > 0) console.log(`note: ${[...busy].join(', ')} ran during the rounds: the figures are noisy (2 CPUs)`);
  console.log(`agent    s: ${agentTimes.map((t) => t.toFixed(2)).join(' ')}  median ${a.toFixed(2)}`);
  console.log(`baseline s: ${baseTimes.map((t) => t.toFixed(2)).join(' ')}  median ${b.toFixed(2)}`);
  for (const l of formatTimelines('agent timeline', agentLines)) console.log(l);
  for (const l of formatTimelines('baseline timeline', baseLines)) console.log(l);
  console.log(`agent peak RSS ${peakRss.toFixed(1)} MiB`);
  const onlyMs = agentLines.map((t) => AGENT_ONLY_STEPS.reduce((sum, n) => sum + (t.get(`step ${n}`) ?? 0), 0));
  const same = agentTimes.map((s, i) => s - onlyMs[i]! / 1000);
  console.log(`agent-only steps (${AGENT_ONLY_STEPS.filter((n) => agentLines.some((t) => (t.get(`step ${n}`) ?? 0) > 0)).join(', ')}) ms: ${onlyMs.map((x) => x.toFixed(0)).join(' ')}  median ${median(onlyMs).toFixed(0)}`);
  console.log(`agent less those s: ${same.map((x) => x.toFixed(2)).join(' ')}  median ${median(same).toFixed(2)}`);
  console.log(`ratio-same-work ${(median(same) / b).toFixed(3)}`);
  console.log(`ratio ${(a / b).toFixed(3)}`);
}

await main();
