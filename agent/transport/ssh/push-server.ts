// Server-driven SSH (SPEC 7, si_pushinstall): an SSH server in the agent that waits for the image server's
// `ssh -R873:localhost:873 ... "sleep 100000 > /tmp/si_pushupdate.completed"`, then serves the forward to rsync.

import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { SiError } from '../../errors.js';
import type { Reporter } from '../../report/events.js';
import { fingerprintOf, type AuthorizedKey } from './keys.js';
import { pipeBoth, SSH_CIPHERS } from './common.js';
import { formatListen, isLoopbackBind } from './push-listen.js';
import { handleSession } from './push-session.js';

export interface PushServerOptions {
  /** Addresses to listen on, one listener each (the install addresses, see pushListenAddresses), and the port (22). */
  hosts: string[];
  port: number;
  authorized: AuthorizedKey[];
  /** Where `/tmp/si_pushupdate.completed` goes (the initrd's /tmp). */
  tmpDir: string;
  report: Reporter;
  /** The remote-forward port the image server asks for (default 873). */
  forwardPort?: number;
}

export interface Push {
  /** The local 127.0.0.1 port whose connections go through the image server's forward to its rsync daemon. */
  localPort: number;
  /** The pushing key: fingerprint and comment. */
  peer: string;
  peerAddress: string;
}

export interface PushServer {
  /** Host key fingerprints (SHA256:...), one per generated key. */
  fingerprints: string[];
  /** Where it listens, as `addr:port` (`[addr]:port` for IPv6). */
  listening: string[];
  /** Resolves when a pusher holds the forward and has run the marker command. */
  push: Promise<Push>;
  close(): Promise<void>;
}

/** The command si_pushinstall runs once its forward is up: `sleep N > FILE`, FILE ending in si_pushupdate.completed. */
export const MARKER_COMMAND = /^\s*sleep\s+\d+\s*>\s*(\S*\/)?si_pushupdate\.completed\s*$/;

/** Generates host keys (ed25519 and ecdsa) for this boot; the private halves never leave memory. */
function makeHostKeys(): Array<{ key: string; fingerprint: string }> {
  return (['ed25519', 'ecdsa'] as const).map((type) => {
    const pair = type === 'ecdsa' ? ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 }) : ssh2.utils.generateKeyPairSync('ed25519');
    const pub = ssh2.utils.parseKey(pair.public);
    const k = Array.isArray(pub) ? pub[0]! : pub;
    if (k instanceof Error) throw new SiError('E_INTERNAL', `generated ${type} host key does not parse: ${k.message}`);
    return { key: pair.private, fingerprint: fingerprintOf(k.getPublicSSH() as Buffer) };
  });
}

/** Finds the authorized key a client offers (the blob names the key type too). */
function findKey(keys: readonly AuthorizedKey[], data: Buffer): AuthorizedKey | undefined {
  return keys.find((k) => k.blob.equals(data));
}

/** Starts the SSH server; `push` resolves once the image server has connected as si_pushinstall does. */
export async function startPushServer(o: PushServerOptions): Promise<PushServer> {
  if (o.authorized.length === 0) throw new SiError('E_SSH', 'SSHD=y but no authorized key: nobody could push the image');
  const forwardPort = o.forwardPort ?? 873;
  const hostKeys = makeHostKeys();
  const connections = new Set<ssh2.Connection>();
  const locals: NetServer[] = [];
  let resolvePush!: (p: Push) => void;
  const push = new Promise<Push>((r) => (resolvePush = r));
  let pushed = false;

  const server = new ssh2.Server({ hostKeys: hostKeys.map((h) => h.key), algorithms: { cipher: [...SSH_CIPHERS] } }, (client, info) => {
    connections.add(client);
    const peerAddress = info.ip;
    let who = '';
    let forwardLocal: number | null = null;
    let marked = false;
    const maybeReady = () => {
      if (pushed || forwardLocal === null || !marked) return;
      pushed = true;
      resolvePush({ localPort: forwardLocal, peer: who, peerAddress });
    };
    client.on('error', (err) => o.report.debug(`SSH client ${peerAddress}: ${err.message}`));
    client.on('close', () => connections.delete(client));
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const key = findKey(o.authorized, ctx.key.data);
      if (!key) {
        o.report.warn(`SSH: refused ${ctx.username}@${peerAddress}: key ${fingerprintOf(ctx.key.data)} is not authorized`);
        return ctx.reject(['publickey']);
      }
      if (ctx.username !== 'root') return ctx.reject(['publickey']);
      // Without a signature the client only asks whether the key would do; with one, it proves it holds the key.
      if (!ctx.signature) return ctx.accept();
      if (!key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo)) return ctx.reject(['publickey']);
      who = `${fingerprintOf(key.blob)}${key.comment ? ` (${key.comment})` : ''} from ${peerAddress}`;
      ctx.accept();
    });
    client.on('ready', () => {
      // ssh2's server connection has setNoDelay, though its type declarations omit it.
      (client as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
      o.report.info(`SSH: ${who} logged in`);
      client.on('request', (accept, reject, name, req) => {
        if (name !== 'tcpip-forward') return reject?.();
        const r = req as { bindAddr: string; bindPort: number };
        if (r.bindPort !== forwardPort || !isLoopbackBind(r.bindAddr)) {
          o.report.warn(`SSH: refused remote forward ${formatListen([r.bindAddr], r.bindPort)} from ${who}: only a loopback forward (localhost, 127.0.0.1 or ::1) of port ${forwardPort} is served`);
          return reject?.();
        }
        listenLocal(client, r.bindAddr, forwardPort, o.report).then((local) => {
          locals.push(local.server);
          forwardLocal = local.port;
          accept?.();
          o.report.info(`SSH: ${who} forwards its ${formatListen([r.bindAddr], forwardPort)}; rsync goes through 127.0.0.1:${local.port}`);
          maybeReady();
        }, () => reject?.());
      });
      client.on('session', (acceptSession) => {
        handleSession(acceptSession(), { who, report: o.report, marker: MARKER_COMMAND, onMarker: (cmd) => {
          // The redirection si_pushinstall asks for: the file exists, the session stays open until the install ends.
          writeFileSync(join(o.tmpDir, 'si_pushupdate.completed'), '');
          o.report.info(`SSH: ${who} ran ${JSON.stringify(cmd)}`);
          marked = true;
          maybeReady();
        } });
      });
    });
  });

  // One ssh2 server (one set of host keys, one push) fed by a listener per address.
  const listeners: NetServer[] = [];
  const closeListeners = () => Promise.all(listeners.map((l) => new Promise<void>((r) => l.close(() => r()))));
  try {
    for (const host of o.hosts) listeners.push(await listenSsh(host, o.port, (sock) => server.injectSocket(sock), o.report));
  } catch (err) {
    await closeListeners();
    throw err;
  }

  return {
    fingerprints: hostKeys.map((h) => h.fingerprint),
    listening: listeners.map((l) => {
      const a = l.address() as AddressInfo;
      return formatListen([a.address], a.port);
    }),
    push,
    async close() {
      for (const c of connections) c.end();
      for (const l of locals) l.close();
      await closeListeners();
    },
  };
}

/** Listens on one address for SSH connections; the error names the address (taken, or not on this machine). */
async function listenSsh(host: string, port: number, onSocket: (sock: Socket) => void, report: Reporter): Promise<NetServer> {
  const listener = createServer(onSocket);
  await new Promise<void>((resolve, reject) => {
    listener.once('error', (err: Error) => reject(new SiError('E_SSH', `cannot start the SSH server on ${formatListen([host], port)}: ${err.message}`, { cause: err })));
    listener.listen(port, host, () => resolve());
  });
  listener.on('error', (err: Error) => report.warn(`SSH server on ${formatListen([host], port)}: ${err.message}`));
  return listener;
}

/** Listens on 127.0.0.1 (any port) and sends each connection through the client's remote forward. */
async function listenLocal(client: ssh2.Connection, bindAddr: string, bindPort: number, report: Reporter): Promise<{ server: NetServer; port: number }> {
  const server = createServer((sock: Socket) => {
    sock.pause();
    sock.on('error', () => sock.destroy());
    client.forwardOut(bindAddr, bindPort, sock.remoteAddress ?? '127.0.0.1', sock.remotePort ?? 0, (err, channel) => {
      if (err) {
        report.warn(`SSH: the image server refused a forwarded connection: ${err.message}`);
        sock.destroy();
        return;
      }
      pipeBoth(sock, channel);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
