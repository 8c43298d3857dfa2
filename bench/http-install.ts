// Benchmark: `si-agent install` over HTTP (nginx serving a tree made by `si-agent publish`, the image a zstd stream into
// the extractor) against the same install over rsync (rsyncd), same image, same layout, same run, each onto a fresh loop
// device. Needs root, nginx, rsync. Network only on 127.0.0.1. Usage: node bench/http-install.ts [IMAGE_DIR]
// (default: the Debian-size image, bench-lib debianImageDir). Env BENCH_ROUNDS (default 3).
// Output: per-round wall times, the image step of each, both peak RSS figures, and last `ratio <http/rsync>` (wall time).

import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findFreePort, makeImageServer, startRsyncd } from '../fixtures/image-server/make-image-server.ts';
import { agentTimeline, debianImageDir, median, newLoop, peakRssOf, sh, SWAP_ROOT_LAYOUT, warmCache } from './bench-lib.ts';

const ROOT = resolve(import.meta.dirname, '..');
const AGENT = join(ROOT, 'dist/si-agent.cjs');
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

/** Starts nginx on 127.0.0.1:port serving root; returns its stop. */
async function startNginx(dir: string, root: string, port: number): Promise<() => void> {
  mkdirSync(dir, { recursive: true });
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/tmp-${t};`).join(' ');
  writeFileSync(join(dir, 'nginx.conf'), `worker_processes 1; user root; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 64; }
http { access_log off; ${temp} default_type application/octet-stream; sendfile on;
  server { listen 127.0.0.1:${port}; root ${root}; } }
`);
  const child = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir, '-g', 'daemon off;'], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !sh('ss', ['-ltnH', `sport = :${port}`]).includes('127.0.0.1'); i++) await new Promise((r) => setTimeout(r, 50));
  return () => child.kill('SIGTERM');
}

async function main(): Promise<void> {
  const image = resolve(process.argv[2] ?? debianImageDir());
  const work = mkdtempSync(join(tmpdir(), 'si-bench-http-'));
  const server = await makeImageServer(join(work, 'server'));
  const module = 'bench-image';
  appendFileSync(server.rsyncdConf, `\n[${module}]\n  path = ${image}\n  comment = benchmark image\n`);
  rmSync(join(server.scriptsDir, 'post-install'), { recursive: true, force: true });
  writeFileSync(join(server.scriptsDir, 'disks-layouts', 'node001.xml'), SWAP_ROOT_LAYOUT);
  // The same image and overrides, published.
  mkdirSync(join(work, 'src/images'), { recursive: true });
  symlinkSync(image, join(work, 'src/images', module));
  const tree = join(work, 'www/pub');
  const pub = spawnSync(process.execPath, [AGENT, 'publish', '--images', join(work, 'src/images'), '--overrides', server.overridesDir, '--scripts', server.scriptsDir, '--out', tree], { encoding: 'utf8' });
  if (pub.status !== 0) throw new Error(`publish failed: ${pub.stderr}`);
  const zst = statSync(join(tree, `images/${module}.tar.zst`)).size;
  const imageMiB = Math.ceil(Number(sh('du', ['-sxm', image]).split('\t')[0]));
  const diskMiB = Math.max(2048, imageMiB * 2 + 1024);
  const rsyncd = await startRsyncd(server.dir);
  const port = await findFreePort();
  const stopNginx = await startNginx(join(work, 'nginx'), join(work, 'www'), port);
  await warmCache(image);
  await warmCache(tree);
  const times: Record<string, number[]> = { rsync: [], http: [] };
  const imageStep: Record<string, number[]> = { rsync: [], http: [] };
  const rss: Record<string, number> = { rsync: 0, http: 0 };
  // Every step's time per round, to say where one install spends what the other does not.
  const steps: Record<string, Map<string, number[]>> = { rsync: new Map(), http: new Map() };
  try {
    for (let i = 0; i < rounds; i++) {
      for (const who of i % 2 === 0 ? ['http', 'rsync'] : ['rsync', 'http']) {
        const dev = newLoop(work, who, diskMiB);
        const events = join(work, `events-${who}-${i}.jsonl`);
        const words = who === 'http' ? `HTTP_BASE=http://127.0.0.1:${port}/pub/` : 'IMAGESERVER=127.0.0.1';
        const t0 = Date.now();
        const r = spawnSync(process.execPath, [AGENT, 'install', '--cmdline', `${words} IMAGENAME=${module} SCRIPTNAME=${server.imageName} POST_ACTION=shutdown`, '--local-cfg', '/dev/null',
          '--rsync-port', String(rsyncd.port), '--disk', dev, '--sysroot', join(work, 'sysroot'), '--workdir', join(work, `w-${who}-${i}`), '--events', events, '--log', join(work, 'si.log')],
          { env: { ...process.env, SI_TMP: work }, stdio: 'ignore' });
        const t1 = Date.now();
        spawnSync('losetup', ['-d', dev]);
        rmSync(join(work, `${who}.img`), { force: true });
        if (r.status !== 0) throw new Error(`${who} install failed (${r.status}): ${readFileSync(join(work, 'si.log'), 'utf8').slice(-3000)}`);
        const text = readFileSync(events, 'utf8');
        times[who]!.push((t1 - t0) / 1000);
        const timeline = agentTimeline(text, t0, t1);
        imageStep[who]!.push((timeline.get('step image') ?? 0) / 1000);
        for (const [k, ms] of timeline) if (k.startsWith('step ') || !k.startsWith('  ')) steps[who]!.set(k, [...(steps[who]!.get(k) ?? []), ms / 1000]);
        rss[who] = Math.max(rss[who]!, peakRssOf(text));
      }
    }
  } finally {
    stopNginx();
    await rsyncd.stop();
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`image: ${image} (${imageMiB} MiB on disk, ${(zst / 2 ** 20).toFixed(0)} MiB as .tar.zst), disk ${diskMiB} MiB, rounds ${rounds}`);
  for (const who of ['rsync', 'http']) {
    console.log(`${who.padEnd(5)} s: ${times[who]!.map((t) => t.toFixed(2)).join(' ')}  median ${median(times[who]!).toFixed(2)}; image step median ${median(imageStep[who]!).toFixed(2)} s; peak RSS ${rss[who]!.toFixed(1)} MiB`);
  }
  const names = [...new Set([...steps.rsync!.keys(), ...steps.http!.keys()])];
  console.log('step medians, s (rsync / http):');
  for (const k of names) {
    const m = (who: string) => (steps[who]!.has(k) ? median(steps[who]!.get(k)!).toFixed(2) : '-');
    console.log(`  ${k.padEnd(36)} ${m('rsync').padStart(6)} ${m('http').padStart(6)}`);
  }
  console.log(`ratio ${(median(times.http!) / median(times.rsync!)).toFixed(3)}`);
}

await main();
