// Benchmark: 8 clients installing at once from one rsync daemon against 1 client alone, same daemon, same image, same
// run. Each client is a network namespace on a bridge with its own loop disk. Needs root.
// Usage: node bench/load.ts [IMAGE_DIR] (default: the fixture image); env BENCH_CLIENTS (default 8).
// Last line: `ratio <t8/t1>` of the wall times.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeImageServer } from '../fixtures/image-server/make-image-server.ts';
import { newLoop, peakRssOf, sh } from './bench-lib.ts';

const ROOT = resolve(import.meta.dirname, '..');
const AGENT = join(ROOT, 'dist/si-agent.cjs');
const N = Number(process.env.BENCH_CLIENTS ?? 8);
const imageArg = process.argv[2] ? resolve(process.argv[2]) : undefined;
const NET = '10.216.1';
const tag = `sil${process.pid}`;



/** Runs one install in a client namespace; resolves with its peak RSS (MiB). */
function install(ns: string, dev: string, work: string, name: string, module: string, script: string): Promise<number> {
  return new Promise((res, rej) => {
    const log = join(work, `${name}.log`);
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, AGENT, 'install', '--cmdline', `IMAGESERVER=${NET}.1 IMAGENAME=${module} SCRIPTNAME=${script} POST_ACTION=shutdown`,
      '--local-cfg', '/dev/null', '--disk', dev, '--workdir', join(work, `w-${name}`), '--log', log], { stdio: 'ignore', env: { ...process.env, SI_TMP: work } });
    child.on('close', (code) => {
      if (code !== 0) return rej(new Error(`${name} failed (${code}): ${readFileSync(log, 'utf8').split('\n').slice(-20).join('\n')}`));
      res(peakRssOf(readFileSync(log, 'utf8')));
    });
  });
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'si-bench-load-'));
  const namespaces: string[] = [];
  const loops: string[] = [];
  let daemon: ChildProcess | undefined;
  try {
    const server = await makeImageServer(join(work, 'server'));
    let module = server.imageName;
    if (imageArg) {
      module = 'bench-image';
      appendFileSync(server.rsyncdConf, `\n[${module}]\n  path = ${imageArg}\n  comment = benchmark image\n`);
      rmSync(join(server.scriptsDir, 'post-install'), { recursive: true, force: true });
      writeFileSync(join(server.scriptsDir, 'disks-layouts', 'default.xml'), readFileSync(join(server.imageDir, 'etc/systemimager/autoinstallscript.conf')));
    }
    const imageMiB = Math.ceil(Number(sh('du', ['-sxm', imageArg ?? server.imageDir]).split('\t')[0]));
    const diskMiB = Math.max(1024, imageMiB * 2 + 512);
    const s = `${tag}s`;
    sh('ip', ['netns', 'add', s]);
    namespaces.push(s);
    sh('ip', ['-n', s, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', s, 'link', 'add', 'br0', 'type', 'bridge']);
    sh('ip', ['-n', s, 'addr', 'add', `${NET}.1/24`, 'dev', 'br0']);
    sh('ip', ['-n', s, 'link', 'set', 'br0', 'up']);
    const clients: Array<{ ns: string; dev: string }> = [];
    for (let i = 0; i < N; i++) {
      const ns = `${tag}c${i}`;
      sh('ip', ['netns', 'add', ns]);
      namespaces.push(ns);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', s]);
      sh('ip', ['-n', s, 'link', 'set', `p${i}`, 'master', 'br0', 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', `${NET}.${11 + i}/24`, 'dev', 'eth0']);
      sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      appendFileSync(join(server.scriptsDir, 'hosts'), `${NET}.${11 + i} node001\n`);
      const dev = newLoop(work, `disk${i}`, diskMiB);
      loops.push(dev);
      clients.push({ ns, dev });
    }
    daemon = spawn('ip', ['netns', 'exec', s, 'rsync', '--daemon', '--no-detach', `--config=${server.rsyncdConf}`, '--port=873', `--address=${NET}.1`], { stdio: 'ignore', detached: true });
    for (let i = 0; i < 100 && !(existsSync(server.logFile) && /starting/.test(readFileSync(server.logFile, 'utf8'))); i++) await new Promise((r) => setTimeout(r, 100));
    // Warm-up (untimed): the page cache holds the image for both timed runs.
    await install(clients[0]!.ns, clients[0]!.dev, work, 'warm', module, server.imageName);
    const t1 = process.hrtime.bigint();
    const rssOne = await install(clients[0]!.ns, clients[0]!.dev, work, 'one', module, server.imageName);
    const one = Number(process.hrtime.bigint() - t1) / 1e9;
    const tN = process.hrtime.bigint();
    const rssAll = await Promise.all(clients.map((c, i) => install(c.ns, c.dev, work, `many-${i}`, module, server.imageName)));
    const all = Number(process.hrtime.bigint() - tN) / 1e9;
    console.log(`image: ${imageArg ?? 'fixture image'} (${imageMiB} MiB on disk), ${N} clients`);
    console.log(`1 client: ${one.toFixed(2)} s (peak RSS ${rssOne.toFixed(1)} MiB); ${N} at once: ${all.toFixed(2)} s (peak RSS max ${Math.max(...rssAll).toFixed(1)} MiB)`);
    console.log(`ratio ${(all / one).toFixed(3)}`);
  } finally {
    if (daemon?.pid) spawnSync('kill', ['--', `-${daemon.pid}`]);
    for (const l of loops) spawnSync('losetup', ['-d', l]);
    for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
