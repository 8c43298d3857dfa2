// Benchmark: `si-agent install` through the client-driven SSH tunnel (SSH=y) against the same install over plain rsync,
// same image, same rsync daemon, same kind of loop device, in the same run. Needs root, OpenSSH's sshd and rsync.
// Two network namespaces joined by a veth: the image server's holds sshd (port 22) and rsyncd (all addresses), the
// client's runs the agent. Usage: node bench/ssh-install.ts [IMAGE_DIR] (default: the fixture image); BENCH_ROUNDS=3.
// Last line: `ratio <ssh/rsync>` of the median wall times.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeImageServer } from '../fixtures/image-server/make-image-server.ts';
import { median, newLoop, sh, SWAP_ROOT_LAYOUT, warmCache } from './bench-lib.ts';

const ROOT = resolve(import.meta.dirname, '..');
const AGENT = join(ROOT, 'dist/si-agent.cjs');
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const imageArg = process.argv[2] ? resolve(process.argv[2]) : undefined;
const SERVER = '10.215.1.1';
const CLIENT = '10.215.1.2';
const S = `sib${process.pid}s`;
const C = `sib${process.pid}c`;





/** `step 1.2s, ...` for the steps of one run's events file. */
function stepTimeline(events: string): string {
  return readFileSync(events, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; step?: string; ms?: number })
    .filter((e) => e.type === 'step-end').map((e) => `${e.step} ${((e.ms ?? 0) / 1000).toFixed(2)}s`).join(', ');
}


async function waitFor(fn: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !fn(); i++) await new Promise((r) => setTimeout(r, 100));
  if (!fn()) throw new Error(`timed out waiting for ${what}`);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'si-bench-ssh-'));
  const daemons: ChildProcess[] = [];
  const loops: string[] = [];
  const times: Record<'rsync' | 'ssh', number[]> = { rsync: [], ssh: [] };
  let peakRss = 0;
  let cipher = '';
  try {
    const server = await makeImageServer(join(work, 'server'));
    let module = server.imageName;
    if (imageArg) {
      module = 'bench-image';
      appendFileSync(server.rsyncdConf, `\n[${module}]\n  path = ${imageArg}\n  comment = benchmark image\n`);
      rmSync(join(server.scriptsDir, 'post-install'), { recursive: true, force: true });
    }
    writeFileSync(join(server.scriptsDir, 'disks-layouts', 'node001.xml'), SWAP_ROOT_LAYOUT);
    appendFileSync(join(server.scriptsDir, 'hosts'), `${CLIENT} node001\n`);
    // The fixture config binds 127.0.0.1; here the daemon serves the veth (plain rsync) and loopback (the tunnel's end).
    writeFileSync(server.rsyncdConf, readFileSync(server.rsyncdConf, 'utf8').replace(/^address = 127\.0\.0\.1$/m, ''));
    const imageMiB = Math.ceil(Number(sh('du', ['-sxm', imageArg ?? server.imageDir]).split('\t')[0]));
    const diskMiB = Math.max(2048, imageMiB * 2 + 1024);

    for (const ns of [S, C]) {
      sh('ip', ['netns', 'add', ns]);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    sh('ip', ['link', 'add', 'vc0', 'netns', C, 'type', 'veth', 'peer', 'name', 'vs0', 'netns', S]);
    sh('ip', ['-n', S, 'addr', 'add', `${SERVER}/24`, 'dev', 'vs0']);
    sh('ip', ['-n', C, 'addr', 'add', `${CLIENT}/24`, 'dev', 'vc0']);
    sh('ip', ['-n', S, 'link', 'set', 'vs0', 'up']);
    sh('ip', ['-n', C, 'link', 'set', 'vc0', 'up']);

    const keys = join(work, 'keys');
    mkdirSync(keys);
    for (const k of ['id_ed25519', 'host_ed25519']) sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keys, k)]);
    writeFileSync(join(work, 'sshd_config'), [`ListenAddress ${SERVER}`, `HostKey ${join(keys, 'host_ed25519')}`, `AuthorizedKeysFile ${join(keys, 'id_ed25519.pub')}`,
      'StrictModes no', 'UsePAM no', 'PermitRootLogin prohibit-password', 'PasswordAuthentication no', `PidFile ${join(work, 'sshd.pid')}`, ''].join('\n'));
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const start = (argv: string[]) => daemons.push(spawn('ip', ['netns', 'exec', S, ...argv], { stdio: 'ignore', detached: true }));
    start(['/usr/sbin/sshd', '-D', '-f', join(work, 'sshd_config')]);
    start(['rsync', '--daemon', '--no-detach', `--config=${server.rsyncdConf}`, '--port=873']);
    await waitFor(() => existsSync(server.logFile) && /starting/.test(readFileSync(server.logFile, 'utf8')), 'rsyncd');
    await waitFor(() => existsSync(join(work, 'sshd.pid')), 'sshd');

    await warmCache(imageArg ?? server.imageDir);
    for (let i = 0; i < rounds; i++) {
      const order: Array<'rsync' | 'ssh'> = i % 2 === 0 ? ['ssh', 'rsync'] : ['rsync', 'ssh'];
      for (const how of order) {
        const dev = newLoop(work, how, diskMiB);
        loops.push(dev);
        const events = join(work, `events-${how}-${i}.jsonl`);
        const words = `IMAGESERVER=${SERVER} IMAGENAME=${module} SCRIPTNAME=${server.imageName} POST_ACTION=shutdown${how === 'ssh' ? ' SSH=y' : ''}`;
        const t0 = process.hrtime.bigint();
        const r = spawnSync('ip', ['netns', 'exec', C, process.execPath, AGENT, 'install', '--cmdline', words, '--local-cfg', '/dev/null', '--ssh-key', join(keys, 'id_ed25519'),
          '--disk', dev, '--sysroot', join(work, 'sysroot'), '--workdir', join(work, `w-${how}-${i}`), '--events', events, '--log', join(work, 'si.log')],
        { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SI_TMP: work } });
        if (r.status !== 0) throw new Error(`${how} install failed (${r.status}): ${readFileSync(join(work, 'si.log'), 'utf8').split('\n').slice(-30).join('\n')}`);
        times[how].push(Number(process.hrtime.bigint() - t0) / 1e9);
        for (const l of readFileSync(events, 'utf8').split('\n').filter(Boolean)) {
          const e = JSON.parse(l) as { type: string; message?: string; detail?: string };
          const m = /peak RSS ([\d.]+) MiB/.exec(e.message ?? '');
          if (m && how === 'ssh') peakRss = Math.max(peakRss, Number(m[1]));
          if (e.type === 'transport') cipher = /cipher ([^\s,]+)/.exec(e.detail ?? '')?.[1] ?? cipher;
        }
        sh('losetup', ['-d', dev]);
        loops.pop();
        rmSync(join(work, `${how}.img`), { force: true });
      }
    }
    const a = median(times.ssh);
    const b = median(times.rsync);
    console.log(`image: ${imageArg ?? 'fixture image'} (${imageMiB} MiB on disk), rounds ${rounds}, SSH cipher ${cipher}`);
    console.log(`ssh   s: ${times.ssh.map((t) => t.toFixed(2)).join(' ')}  median ${a.toFixed(2)}`);
    console.log(`rsync s: ${times.rsync.map((t) => t.toFixed(2)).join(' ')}  median ${b.toFixed(2)}`);
    console.log(`agent peak RSS (ssh) ${peakRss.toFixed(1)} MiB`);
    for (const how of ['rsync', 'ssh'] as const) console.log(`${how} steps: ${stepTimeline(join(work, `events-${how}-${rounds - 1}.jsonl`))}`);
    console.log(`ratio ${(a / b).toFixed(3)}`);
  } finally {
    for (const l of loops) spawnSync('losetup', ['-d', l]);
    for (const d of daemons) if (d.pid) spawnSync('kill', ['--', `-${d.pid}`]);
    for (const ns of [S, C]) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
