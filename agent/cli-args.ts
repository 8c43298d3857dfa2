// Parses the si-agent command line (SPEC 14) into a typed command; pure.

import { SiError } from './errors.js';

export interface CliCommand {
  command: 'init' | 'install' | 'plan' | 'stage' | 'publish' | 'version' | 'help';
  cmdline?: string;
  cmdlineFile?: string;
  localCfg: string[];
  disks: string[];
  sysroot?: string;
  workdir?: string;
  network: boolean;
  performPostAction: boolean;
  json: boolean;
  verbose: boolean;
  events?: string;
  log?: string;
  rsyncPort?: number;
  server?: string;
  configureFrom?: string;
  kexec: boolean;
  /** stage: boot package flavor and architecture on the server, extra kernel words, target root, no question, undo. */
  flavor?: string;
  arch?: string;
  append?: string;
  root?: string;
  yes: boolean;
  undo: boolean;
  /** Private keys for the client-driven SSH tunnel (--ssh-key, repeatable). */
  sshKeys: string[];
  /** authorized_keys files for the server-driven SSH install (--authorized-keys, repeatable). */
  authorizedKeys: string[];
  /** init: run the install itself (PID 1 starts it as its child). */
  worker: boolean;
  /** publish: source directories, the publish tree, images to publish, key files, torrents tracker, multicast files. */
  images?: string;
  overrides?: string;
  scripts?: string;
  out?: string;
  imageNames: string[];
  signKey?: string;
  genKey?: string;
  torrents?: string;
  multicast: boolean;
}

const VALUE_OPTS = new Set(['--cmdline', '--cmdline-file', '--local-cfg', '--disk', '--sysroot', '--workdir', '--events', '--log', '--rsync-port', '--server', '--configure-from', '--flavor', '--arch', '--append', '--root', '--ssh-key', '--authorized-keys',
  '--images', '--overrides', '--scripts', '--out', '--image', '--sign-key', '--gen-key', '--torrents']);
const FLAG_OPTS = new Set(['--network', '--perform-post-action', '--json', '--verbose', '--kexec', '--worker', '--yes', '--undo', '--multicast']);

export const USAGE = `usage:
  si-agent init                      PID 1 in the initrd: the whole flow, for real
  si-agent install [inputs] --disk DEV [--disk DEV]... [--sysroot DIR]
                   [--network] [--perform-post-action]
  si-agent plan    [inputs] [--disk DEV]... [--network] [--json]
  si-agent stage   --server HOST [--flavor NAME] [--arch ARCH] [--configure-from IFACE]
                   [--append "PARAMS"] [--kexec] [--root DIR] [--yes] [--rsync-port N]
  si-agent stage   --undo [--root DIR] [--yes]
  si-agent publish [--images DIR] [--overrides DIR] [--scripts DIR] --out DIR [--image NAME]...
                   [--sign-key FILE] [--torrents TRACKER_URL] [--multicast]
  si-agent publish --gen-key FILE
  si-agent version
inputs: --cmdline "STRING" | --cmdline-file FILE   (default /proc/cmdline)
        --local-cfg FILE (repeatable, later wins)  (default: the SPEC 2 search)
        --ssh-key FILE (repeatable; client-driven SSH)  --authorized-keys FILE (repeatable; SSHD)
other:  --events FILE (JSON lines of every event), --log FILE (default /tmp/si.log),
        --workdir DIR, --rsync-port N (image server's rsync daemon port, default 873), --verbose`;

/** Parses argv (without node and script) into a CliCommand; throws E_USAGE on anything unknown. */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  const cmd = argv[0];
  const known = ['init', 'install', 'plan', 'stage', 'publish', 'version', 'help', '--help', '-h', '--version'];
  if (!cmd || !known.includes(cmd)) throw new SiError('E_USAGE', cmd ? `unknown command "${cmd}"\n${USAGE}` : USAGE);
  const out: CliCommand = {
    command: cmd === '--help' || cmd === '-h' ? 'help' : cmd === '--version' ? 'version' : (cmd as CliCommand['command']),
    localCfg: [],
    disks: [],
    network: false,
    performPostAction: false,
    json: false,
    verbose: false,
    kexec: false,
    yes: false,
    undo: false,
    worker: false,
    sshKeys: [],
    authorizedKeys: [],
    imageNames: [],
    multicast: false,
  };
  for (let i = 1; i < argv.length; i++) {
    let a = argv[i]!;
    let v: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      v = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    if (FLAG_OPTS.has(a)) {
      if (v !== undefined) throw new SiError('E_USAGE', `option ${a} takes no value`);
      if (a === '--network') out.network = true;
      else if (a === '--perform-post-action') out.performPostAction = true;
      else if (a === '--json') out.json = true;
      else if (a === '--verbose') out.verbose = true;
      else if (a === '--kexec') out.kexec = true;
      else if (a === '--worker') out.worker = true;
      else if (a === '--yes') out.yes = true;
      else if (a === '--undo') out.undo = true;
      else if (a === '--multicast') out.multicast = true;
      continue;
    }
    if (!VALUE_OPTS.has(a)) throw new SiError('E_USAGE', `unknown option "${a}"\n${USAGE}`);
    if (v === undefined) {
      v = argv[++i];
      if (v === undefined) throw new SiError('E_USAGE', `option ${a} needs a value`);
    }
    switch (a) {
      case '--cmdline': out.cmdline = v; break;
      case '--cmdline-file': out.cmdlineFile = v; break;
      case '--local-cfg': out.localCfg.push(v); break;
      case '--disk': out.disks.push(v); break;
      case '--sysroot': out.sysroot = v; break;
      case '--workdir': out.workdir = v; break;
      case '--events': out.events = v; break;
      case '--log': out.log = v; break;
      case '--server': out.server = v; break;
      case '--configure-from': out.configureFrom = v; break;
      case '--flavor': out.flavor = v; break;
      case '--arch': out.arch = v; break;
      case '--append': out.append = v; break;
      case '--root': out.root = v; break;
      case '--ssh-key': out.sshKeys.push(v); break;
      case '--authorized-keys': out.authorizedKeys.push(v); break;
      case '--images': out.images = v; break;
      case '--overrides': out.overrides = v; break;
      case '--scripts': out.scripts = v; break;
      case '--out': out.out = v; break;
      case '--image': out.imageNames.push(v); break;
      case '--sign-key': out.signKey = v; break;
      case '--gen-key': out.genKey = v; break;
      case '--torrents': out.torrents = v; break;
      case '--rsync-port': {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 65535) throw new SiError('E_USAGE', `--rsync-port: "${v}" is not a port (1-65535)`);
        out.rsyncPort = n;
        break;
      }
    }
  }
  if (out.cmdline !== undefined && out.cmdlineFile !== undefined) throw new SiError('E_USAGE', 'give either --cmdline or --cmdline-file, not both');
  return out;
}
