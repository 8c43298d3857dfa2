// A multicast lab for tests and benches (root): an image-server namespace with a bridge, client namespaces on it, the real
// flamethrowerd casting modules as SystemImager configures it, optional packet loss (nftables; this kernel has no netem).
// Everything made here (namespaces, processes inside them, the FIFO, files) is removed by cleanup().

import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface McClient {
  ns: string;
  ip: string;
  dev: string;
}

export interface McLab {
  dir: string;
  srv: string;
  serverIp: string;
  bridge: string;
  clients: McClient[];
  /** Writes flamethrower.conf (globals as SystemImager writes them, one [module] with DIR per entry) and starts flamethrowerd. */
  startFlamethrowerd(modules: Array<{ name: string; dir: string }>, globals?: Record<string, string>): void;
  /** Kills flamethrowerd and its casts (every process in the server namespace). */
  stopFlamethrowerd(): void;
  /** Drops pct% of the packets in and out of a client's interface (nftables netdev ingress/egress, numgen). */
  addLoss(client: McClient, pct: number): void;
  /** Packets the loss rules of a client dropped so far. */
  droppedPackets(client: McClient): number;
  /** Runs a command in a namespace (throws with stderr on failure). */
  exec(ns: string, argv: string[]): string;
  flamethrowerLog(): string;
  /** How many casts of a module flamethrowerd's udp-sender has started so far (its log's `Starting transfer`). */
  castStarts(module: string): number;
  /** Stops (SIGSTOP) or resumes (SIGCONT) the udp-receivers running in a client namespace (started by the test's agents). */
  pauseReceivers(client: McClient, pause: boolean): number;
  cleanup(): void;
}

const sh = (argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const quiet = (argv: string[]) => {
  try {
    sh(argv);
  } catch {
    /* best-effort teardown */
  }
};

/** Kills every process in a lab namespace: each is one the lab started (flamethrowerd, udp-sender, tar, agents). */
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

/** Builds the lab: namespace `mc-<tag>-srv` with bridge `mc<tag>br` at 10.77.<net>.1/24, clients `mc-<tag>-cN` at .11, .12, ... */
export function createMcLab(tag: string, net: number, nClients: number): McLab {
  const dir = mkdtempSync(join(tmpdir(), `si-mc-${tag}-`));
  const srv = `mc${process.pid}-${tag}-srv`;
  const bridge = `mc${tag}br`;
  const serverIp = `10.77.${net}.1`;
  const namespaces: string[] = [];
  let fifoFd: number | null = null;
  const addNs = (name: string) => {
    quiet(['ip', 'netns', 'del', name]);
    sh(['ip', 'netns', 'add', name]);
    namespaces.push(name);
    sh(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  };
  const lab: McLab = {
    dir, srv, serverIp, bridge, clients: [],
    exec: (ns, argv) => sh(['ip', 'netns', 'exec', ns, ...argv]),
    startFlamethrowerd(modules, globals = {}) {
      const state = join(dir, 'ft-state');
      const ftdir = join(dir, 'ft-directory');
      mkdirSync(state, { recursive: true });
      mkdirSync(ftdir, { recursive: true });
      const g: Record<string, string> = {
        START_FLAMETHROWER_DAEMON: 'yes', FLAMETHROWER_DIRECTORY_PORTBASE: '9000', INTERFACE: bridge, MAX_BITRATE: '50M',
        FULL_DUPLEX: 'on', MIN_CLIENTS: '1', MAX_WAIT: '5', MIN_WAIT: '0', NOSYNC: 'on', DEBUG: 'off', REXMIT_HELLO_INTERVAL: '1000',
        FLAMETHROWER_DIRECTORY_DIR: ftdir, FLAMETHROWER_STATE_DIR: state, LOG: join(dir, 'flamethrower.log'), ...globals,
      };
      const conf = [
        '# flamethrower.conf as SystemImager writes it: globals, then one section per module (scripts, images, overrides)',
        ...Object.entries(g).map(([k, v]) => `${k} = ${v}`), '',
        ...modules.flatMap((m) => [`[${m.name}]`, `DIR = ${m.dir}`, '']),
      ].join('\n');
      writeFileSync(join(dir, 'flamethrower.conf'), conf);
      // udp-sender reads the keyboard: a FIFO that never reaches EOF keeps casts waiting for their receivers.
      const fifo = join(dir, 'stdin.fifo');
      if (!existsSync(fifo)) sh(['mkfifo', fifo]);
      fifoFd = openSync(fifo, 'r+');
      const child = spawn('ip', ['netns', 'exec', srv, 'flamethrowerd', '--config-file', join(dir, 'flamethrower.conf'), '--pid-file', join(dir, 'ft.pid')], {
        stdio: [fifoFd, 'ignore', 'ignore'],
        detached: true,
      });
      child.unref();
    },
    stopFlamethrowerd() {
      killAllIn(srv);
      if (fifoFd !== null) closeSync(fifoFd);
      fifoFd = null;
    },
    addLoss(client, pct) {
      const rules = `table netdev mcloss {
  chain in { type filter hook ingress device "${client.dev}" priority 0; numgen random mod 100 < ${pct} counter drop; }
  chain out { type filter hook egress device "${client.dev}" priority 0; numgen random mod 100 < ${pct} counter drop; }
}
`;
      const f = join(dir, `loss-${client.ns}.nft`);
      writeFileSync(f, rules);
      sh(['ip', 'netns', 'exec', client.ns, 'nft', '-f', f]);
    },
    droppedPackets(client) {
      const text = sh(['ip', 'netns', 'exec', client.ns, 'nft', 'list', 'table', 'netdev', 'mcloss']);
      return [...text.matchAll(/counter packets (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    },
    flamethrowerLog() {
      const f = join(dir, 'flamethrower.log');
      return existsSync(f) ? readFileSync(f, 'utf8') : '';
    },
    castStarts(module) {
      const f = join(dir, `flamethrower.log.${module}`);
      return existsSync(f) ? (readFileSync(f, 'utf8').match(/Starting transfer/g) ?? []).length : 0;
    },
    pauseReceivers(client, pause) {
      let n = 0;
      for (const pid of sh(['ip', 'netns', 'pids', client.ns]).split('\n').filter(Boolean)) {
        try {
          if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'udp-receiver') continue;
          process.kill(Number(pid), pause ? 'SIGSTOP' : 'SIGCONT');
          n++;
        } catch {
          /* gone */
        }
      }
      return n;
    },
    cleanup() {
      for (const ns of namespaces) killAllIn(ns);
      for (const ns of namespaces.reverse()) quiet(['ip', 'netns', 'del', ns]);
      if (fifoFd !== null) closeSync(fifoFd);
      fifoFd = null;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    addNs(srv);
    sh(['ip', '-n', srv, 'link', 'add', bridge, 'type', 'bridge']);
    sh(['ip', '-n', srv, 'addr', 'add', `${serverIp}/24`, 'brd', '+', 'dev', bridge]);
    sh(['ip', '-n', srv, 'link', 'set', bridge, 'up']);
    sh(['ip', '-n', srv, 'route', 'add', '224.0.0.0/4', 'dev', bridge]);
    for (let i = 1; i <= nClients; i++) {
      const ns = `mc${process.pid}-${tag}-c${i}`;
      addNs(ns);
      const port = `mc${tag}v${i}`;
      sh(['ip', 'link', 'add', port, 'netns', srv, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      sh(['ip', '-n', srv, 'link', 'set', port, 'master', bridge]);
      sh(['ip', '-n', srv, 'link', 'set', port, 'up']);
      const ip = `10.77.${net}.${10 + i}`;
      sh(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'brd', '+', 'dev', 'eth0']);
      sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      sh(['ip', '-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0']);
      lab.clients.push({ ns, ip, dev: 'eth0' });
    }
  } catch (e) {
    lab.cleanup();
    throw e;
  }
  return lab;
}
