// A BitTorrent lab for tests and benches (root): an image-server namespace with a bridge, client namespaces on it, the
// real opentracker (whitelist, TCP only) and aria2c as the first seeder; torrents made with mktorrent as SystemImager
// names them. Namespaces are `bt-<tag>-*`, addresses 10.99.<net>.0/24. cleanup() removes everything made here.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BtClient {
  ns: string;
  ip: string;
  dev: string;
  /** The client's bridge port (in the server namespace), for shaping. */
  port: string;
}

export interface BtLab {
  dir: string;
  srv: string;
  serverIp: string;
  trackerUrl: string;
  clients: BtClient[];
  exec(ns: string, argv: string[]): string;
  /** Runs opentracker in the server namespace with a whitelist of the given info hashes. */
  startTracker(infoHashes: string[]): void;
  stopTracker(): void;
  /** Starts aria2c seeding a torrent whose data sits in dataDir (checked first with -V); upload limit in bytes/s (0: none). */
  startSeeder(name: string, torrent: string, dataDir: string, opts?: { ns?: string; ip?: string; port?: number; uploadLimit?: number; unverified?: boolean }): void;
  /** Counts TCP bytes a namespace sends (default the server's) except from the rsync daemon and the tracker: the
   *  seeders' uploads, whichever side opened the connection. Read by uploadedBytes. */
  countUploads(ns?: string): void;
  uploadedBytes(): number;
  /** Shapes both directions of a namespace's link (its eth0 and its bridge port) with tc tbf, rate in Mbit/s. */
  shapeLink(c: BtClient, mbit: number): void;
  /** Removes the shaping of shapeLink. */
  unshapeLink(c: BtClient): void;
  /** Adds a namespace on the bridge (for peers that are not install clients). */
  addPeer(i: number): BtClient;
  log(name: string): string;
  cleanup(): void;
}

const sh = (argv: string[], input?: string) => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
const quiet = (argv: string[]) => {
  try {
    sh(argv);
  } catch {
    /* best-effort teardown */
  }
};

/** Kills every process in a lab namespace: each is one the lab started (tracker, seeders, agents). */
function killAllIn(ns: string): void {
  let pids: string[] = [];
  try {
    pids = sh(['ip', 'netns', 'pids', ns]).split('\n').filter(Boolean);
  } catch {
    /* namespace gone */
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Makes `<kind>-<name>.tar[.gz]` of a tree as SystemImager 4.3 does (`tar -c[z]Spf`) and its torrent with mktorrent. */
export function makeTorrent(treeDir: string, outDir: string, base: string, trackerUrl: string, gzip: boolean): { tarball: string; torrent: string; infoHash: string } {
  const tarball = join(outDir, `${base}.tar${gzip ? '.gz' : ''}`);
  const torrent = `${tarball}.torrent`;
  rmSync(torrent, { force: true });
  execFileSync('tar', [gzip ? '-czSpf' : '-cSpf', tarball, '.'], { cwd: treeDir, stdio: 'ignore' });
  // 256 KiB pieces: enough of them that clients have something to trade.
  execFileSync('mktorrent', ['-a', trackerUrl, '-l', '18', '-o', torrent, tarball], { stdio: 'ignore' });
  const shown = execFileSync('aria2c', ['-S', torrent], { encoding: 'utf8' });
  const infoHash = /Info Hash: ([0-9a-f]{40})/.exec(shown)?.[1];
  if (!infoHash) throw new Error(`aria2c -S ${torrent} shows no info hash:\n${shown}`);
  return { tarball, torrent, infoHash };
}

/** Builds the lab: `bt-<tag>-srv` with bridge `bt<tag>br` at 10.99.<net>.1/24, clients `bt-<tag>-cN` at .11, .12, ... */
export function createBtLab(tag: string, net: number, nClients: number): BtLab {
  const dir = mkdtempSync(join(tmpdir(), `si-bt-${tag}-`));
  const srv = `bt${process.pid}-${tag}-srv`;
  const bridge = `bt${tag}br`;
  const serverIp = `10.99.${net}.1`;
  const namespaces: string[] = [];
  const addNs = (name: string) => {
    quiet(['ip', 'netns', 'del', name]);
    sh(['ip', 'netns', 'add', name]);
    namespaces.push(name);
    sh(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  };
  // sh and `ip netns exec` both exec: the child's pid is the daemon's own.
  const daemon = (ns: string, name: string, argv: string[]): number => {
    const child = spawn('sh', ['-c', 'exec "$@" > "$0" 2>&1', join(dir, `${name}.log`), 'ip', 'netns', 'exec', ns, ...argv], { stdio: 'ignore', detached: true });
    child.unref();
    return child.pid!;
  };
  const join1 = (i: number, prefix: string): BtClient => {
    const ns = `bt${process.pid}-${tag}-${prefix}${i}`;
    addNs(ns);
    const port = `bt${tag}${prefix}${i}`;
    sh(['ip', 'link', 'add', port, 'netns', srv, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    sh(['ip', '-n', srv, 'link', 'set', port, 'master', bridge]);
    sh(['ip', '-n', srv, 'link', 'set', port, 'up']);
    const ip = `10.99.${net}.${prefix === 'c' ? 10 + i : 200 + i}`;
    sh(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    return { ns, ip, dev: 'eth0', port };
  };
  let trackerPid: number | null = null;
  let countNs = srv;
  const lab: BtLab = {
    dir, srv, serverIp, clients: [],
    trackerUrl: `http://${serverIp}:6969/announce`,
    exec: (ns, argv) => sh(['ip', 'netns', 'exec', ns, ...argv]),
    startTracker(infoHashes) {
      // Debian's opentracker chroots into -d and reads the whitelist from there; -p alone: TCP only.
      const root = join(dir, 'tracker');
      mkdirSync(root, { recursive: true });
      writeFileSync(join(root, 'whitelist.txt'), infoHashes.join('\n') + '\n');
      trackerPid = daemon(srv, 'opentracker', ['opentracker', '-i', serverIp, '-p', '6969', '-d', root, '-w', '/whitelist.txt']);
    },
    stopTracker() {
      if (trackerPid !== null) quiet(['kill', '-KILL', String(trackerPid)]);
      trackerPid = null;
    },
    startSeeder(name, torrent, dataDir, opts = {}) {
      const args = ['aria2c', '--seed-ratio=0.0', '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false',
        `--listen-port=${opts.port ?? 6881}`, '--bt-require-crypto=false', '--summary-interval=0', '--console-log-level=warn',
        `--max-overall-upload-limit=${opts.uploadLimit ?? 0}`, '--bt-max-peers=0', '-d', dataDir, '--bt-detach-seed-only=false'];
      if (opts.unverified) args.push('--bt-seed-unverified=true', '--check-integrity=false');
      else args.push('-V');
      if (opts.ip) args.push(`--interface=${opts.ip}`);
      daemon(opts.ns ?? srv, name, [...args, torrent]);
    },
    countUploads(ns = srv) {
      const rules = 'table inet btcount {\n  chain out { type filter hook output priority 0; meta l4proto tcp tcp sport != { 873, 6969 } counter; }\n}\n';
      quiet(['ip', 'netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'btcount']);
      sh(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], rules);
      countNs = ns;
    },
    uploadedBytes() {
      const text = sh(['ip', 'netns', 'exec', countNs, 'nft', 'list', 'table', 'inet', 'btcount']);
      return [...text.matchAll(/counter packets \d+ bytes (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    },
    shapeLink(c, mbit) {
      for (const [ns, dev] of [[srv, c.port], [c.ns, c.dev]] as const) {
        quiet(['ip', 'netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', dev, 'root']);
        sh(['ip', 'netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', `${mbit}mbit`, 'burst', '64kb', 'latency', '50ms']);
      }
    },
    unshapeLink(c) {
      for (const [ns, dev] of [[srv, c.port], [c.ns, c.dev]] as const) quiet(['ip', 'netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', dev, 'root']);
    },
    addPeer(i) {
      return join1(i, 'p');
    },
    log(name) {
      const f = join(dir, `${name}.log`);
      return existsSync(f) ? readFileSync(f, 'utf8') : '';
    },
    cleanup() {
      for (const ns of namespaces) killAllIn(ns);
      for (const ns of namespaces.reverse()) quiet(['ip', 'netns', 'del', ns]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    addNs(srv);
    sh(['ip', '-n', srv, 'link', 'add', bridge, 'type', 'bridge']);
    sh(['ip', '-n', srv, 'addr', 'add', `${serverIp}/24`, 'dev', bridge]);
    sh(['ip', '-n', srv, 'link', 'set', bridge, 'up']);
    for (let i = 1; i <= nClients; i++) lab.clients.push(join1(i, 'c'));
  } catch (e) {
    lab.cleanup();
    throw e;
  }
  return lab;
}

/** The peers (ip:port) a tracker lists for a torrent, asked from a namespace (a probe announce, withdrawn at once). */
export function trackerPeers(lab: BtLab, ns: string, infoHash: string): string[] {
  const enc = (hex: string) => hex.replace(/../g, '%$&');
  const url = `${lab.trackerUrl}?info_hash=${enc(infoHash)}&peer_id=${enc('2d5349746573742d' + '00'.repeat(12))}&port=1&uploaded=0&downloaded=0&left=0&compact=1&numwant=50`;
  const script = `(async () => { const b = await (await fetch(${JSON.stringify(url)})).arrayBuffer(); await fetch(${JSON.stringify(url + '&event=stopped')});
    process.stdout.write(Buffer.from(b).toString('hex')); })()`;
  const body = Buffer.from(lab.exec(ns, [process.execPath, '-e', script]), 'hex');
  const at = body.indexOf('5:peers');
  if (at < 0) return [];
  const colon = body.indexOf(':', at + 7);
  const len = Number(body.toString('latin1', at + 7, colon));
  const peers = body.subarray(colon + 1, colon + 1 + len);
  const out: string[] = [];
  for (let i = 0; i + 6 <= peers.length; i += 6) out.push(`${peers[i]}.${peers[i + 1]}.${peers[i + 2]}.${peers[i + 3]}:${peers.readUInt16BE(i + 4)}`);
  return out;
}
