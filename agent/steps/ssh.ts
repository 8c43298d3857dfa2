// SSH transports up before the first rsync (SPEC 1 step 8): the client-driven tunnel, or the server the image server pushes to.

import { existsSync, readFileSync } from 'node:fs';
import { arch } from 'node:os';
import { ParamError, SiError } from '../errors.js';
import { systemPaths } from '../exec/tools.js';
import { getBool, getUint } from '../params/validate.js';
import type { AuthorizedKey } from '../transport/ssh/keys.js';
import { type Ctx, imageServer, param, rsyncEndpoint } from './context.js';

/** Which SSH mode the parameters ask for: SSHD=y wins; SSH=y or SSH_DOWNLOAD_URL alone mean the tunnel. */
export function sshMode(ctx: Ctx): 'tunnel' | 'push' | null {
  if (getBool(ctx.params, 'SSHD')) return 'push';
  if (getBool(ctx.params, 'SSH') || param(ctx, 'SSH_DOWNLOAD_URL')) return 'tunnel';
  return null;
}

/** Brings the SSH transport up when one is asked for; from then on every rsync goes through it. */
export async function startSshTransport(ctx: Ctx): Promise<void> {
  if (ctx.state.rsyncVia) return;
  const mode = sshMode(ctx);
  if (mode === 'tunnel') await startTunnel(ctx);
  else if (mode === 'push') await waitForPush(ctx);
  else if (ctx.state.transport === 'rsync') {
    const { server, port } = rsyncEndpoint(ctx);
    ctx.report.emit({ type: 'transport', transport: 'rsync', peer: `rsync://${server}:${port}` });
  }
}

// ssh2 and the modules on it load only when an SSH mode is chosen: evaluating them costs every boot otherwise.
const sshKeys = () => import('../transport/ssh/keys.js');

/** SSH_HOST_KEY, checked: a `SHA256:` fingerprint as `ssh-keygen -lf` prints it. */
async function hostKeyPin(ctx: Ctx): Promise<{ fingerprint: string; source: string } | undefined> {
  const value = param(ctx, 'SSH_HOST_KEY');
  if (value === undefined) return undefined;
  const source = ctx.params.get('SSH_HOST_KEY')?.source ?? 'unknown';
  if (!(await sshKeys()).isFingerprint(value)) {
    throw new ParamError([{ source, key: 'SSH_HOST_KEY', message: `"${value}" is not a SHA256:... fingerprint as ssh-keygen -lf prints it` }]);
  }
  return { fingerprint: value, source };
}

async function startTunnel(ctx: Ctx): Promise<void> {
  const host = imageServer(ctx);
  const user = param(ctx, 'SSH_USER') ?? 'root';
  const pin = await hostKeyPin(ctx);
  const { readPrivateKeys } = await sshKeys();
  const { openTunnel } = await import('../transport/ssh/tunnel.js');
  const keys = readPrivateKeys(ctx.opts.sshKeys ?? [], systemPaths().sshDir);
  const tunnel = await openTunnel({ host, user, keys, pin, report: ctx.report, signal: ctx.signal });
  ctx.state.cleanups.push(() => tunnel.close());
  ctx.state.rsyncVia = { host: '127.0.0.1', port: tunnel.localPort };
  ctx.state.transport = 'ssh';
  ctx.state.transportInfo = { transport: 'ssh', ssh_host_key: tunnel.fingerprint };
  ctx.report.emit({ type: 'transport', transport: 'ssh', peer: `${user}@${host}:22`, fingerprint: tunnel.fingerprint, detail: `cipher ${tunnel.cipher}, rsync through 127.0.0.1:${tunnel.localPort}` });
  if (!pin) ctx.report.warn(`SSH host key of ${host} not pinned: trusted on first use as ${tunnel.fingerprint} (set SSH_HOST_KEY=${tunnel.fingerprint} to pin it)`);
}

/** The keys that may push: --authorized-keys files, else the initrd's, else SSH_DOWNLOAD_URL/<arch>/ssh/authorized_keys. */
async function authorizedKeys(ctx: Ctx): Promise<AuthorizedKey[]> {
  const paths = systemPaths();
  const files = ctx.opts.authorizedKeys?.length ? ctx.opts.authorizedKeys : [`${paths.sshDir}/authorized_keys`, paths.etcSshAuthorizedKeys].filter((f) => existsSync(f));
  const keys: AuthorizedKey[] = [];
  const { parseAuthorizedKeys } = await sshKeys();
  const add = (text: string, source: string) => {
    const r = parseAuthorizedKeys(text, source);
    for (const p of r.problems) ctx.report.warn(`authorized_keys ${p}`);
    keys.push(...r.keys);
  };
  for (const f of files) {
    try {
      add(readFileSync(f, 'utf8'), f);
    } catch (err) {
      throw new SiError('E_SSH', `cannot read authorized_keys ${f}: ${(err as Error).message}`);
    }
  }
  const base = param(ctx, 'SSH_DOWNLOAD_URL');
  if (keys.length === 0 && base) add(await download(ctx, `${base.replace(/\/+$/, '')}/${machineArch()}/ssh/authorized_keys`), 'SSH_DOWNLOAD_URL');
  if (keys.length === 0) {
    throw new SiError('E_SSH', `SSHD=y but no authorized key: none in ${files.length ? files.join(', ') : `${paths.sshDir}/authorized_keys or ${paths.etcSshAuthorizedKeys}`}${base ? ' nor at SSH_DOWNLOAD_URL' : ''}; bake them in with boot-package --authorized-keys, give install --authorized-keys FILE, or set SSH_DOWNLOAD_URL`);
  }
  return keys;
}

/** `uname -m` of this machine. */
function machineArch(): string {
  const a = arch();
  return a === 'x64' ? 'x86_64' : a === 'arm64' ? 'aarch64' : a === 'ia32' ? 'i386' : a;
}

/** Fetches a small text file over HTTP(S), bounded in time; the error names the URL. */
async function download(ctx: Ctx, url: string): Promise<string> {
  if (!/^https?:\/\//.test(url)) throw new ParamError([{ source: ctx.params.get('SSH_DOWNLOAD_URL')?.source ?? 'unknown', key: 'SSH_DOWNLOAD_URL', message: `"${url}" is not an http:// or https:// URL` }]);
  ctx.report.info(`fetching authorized_keys from ${url}`);
  try {
    const res = await fetch(url, { signal: AbortSignal.any([AbortSignal.timeout(30_000), ctx.signal]) });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    return await res.text();
  } catch (err) {
    throw new SiError('E_SSH', `cannot fetch authorized_keys from ${url}: ${(err as Error).message}`, { cause: err });
  }
}

async function waitForPush(ctx: Ctx): Promise<void> {
  const keys = await authorizedKeys(ctx);
  // Dual stack: the image server may come over either family, whichever address it was told (its hosts file, DNS).
  const { pushListenAddresses } = await import('../transport/ssh/push-listen.js');
  const hosts = pushListenAddresses([ctx.state.clientIp, param(ctx, 'IPADDR'), ctx.state.clientIp6]);
  const { startPushServer } = await import('../transport/ssh/push-server.js');
  const server = await startPushServer({ hosts, port: 22, authorized: keys, tmpDir: systemPaths().tmp, report: ctx.report });
  ctx.state.cleanups.push(() => server.close());
  ctx.state.transportInfo = { transport: 'sshd', ssh_host_key: server.fingerprints[0]! };
  const listen = server.listening.join(' or ');
  // First the address the image server sees this client by (IPv6 when it is all there is, or the server is on IPv6).
  const who = param(ctx, 'HOSTNAME') ?? hosts[0]!;
  ctx.report.info(`SSH server on ${server.listening.join(' and ')}, host keys ${server.fingerprints.join(' ')}; ${keys.length} authorized key(s)`);
  ctx.report.info(`waiting for the image server; on it, run:  si_pushinstall --hosts ${who}`);
  const waitS = param(ctx, 'SSHD_WAIT') === undefined ? null : getUint(ctx.params, 'SSHD_WAIT');
  const started = Date.now();
  const ticker = setInterval(() => {
    const s = Math.round((Date.now() - started) / 1000);
    ctx.report.info(`still waiting for si_pushinstall --hosts ${who} (${s} s${waitS === null ? '' : ` of ${waitS}`})`);
    ctx.report.emit({ type: 'status', status: 0, message: `waiting for the image server's push (${s} s)` });
  }, 60_000);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      if (waitS !== null) timer = setTimeout(() => reject(new SiError('E_SSH', `the image server did not push within SSHD_WAIT=${waitS} s: run si_pushinstall --hosts ${who} on it, or check that it reaches ${listen} with an authorized key`)), waitS * 1000);
    });
    const aborted = new Promise<never>((_, reject) => ctx.signal.addEventListener('abort', () => reject(new SiError('E_SSH', 'stopped while waiting for the push')), { once: true }));
    const push = await Promise.race([server.push, timeout, aborted]);
    ctx.state.rsyncVia = { host: '127.0.0.1', port: push.localPort };
    ctx.state.transport = 'sshd';
    ctx.state.transportInfo = { transport: 'sshd', ssh_host_key: server.fingerprints[0]!, ssh_peer: push.peer };
    ctx.report.emit({ type: 'transport', transport: 'sshd', peer: push.peer, fingerprint: server.fingerprints[0], detail: `rsync through the image server's forward at 127.0.0.1:${push.localPort}` });
  } finally {
    clearInterval(ticker);
    clearTimeout(timer);
  }
}
