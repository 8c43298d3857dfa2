// Client-driven SSH (SPEC 7): an SSH connection to the image server with a local loopback port forwarded to its rsync daemon.

import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import { SiError } from '../../errors.js';
import { withRetry } from '../../net/retry.js';
import type { Reporter } from '../../report/events.js';
import { fingerprintOf, type PrivateKey } from './keys.js';
import { pipeBoth, SSH_CIPHERS } from './common.js';

export interface TunnelOptions {
  host: string;
  /** SSH port of the image server (default 22). */
  port?: number;
  user: string;
  keys: PrivateKey[];
  /** SSH_HOST_KEY: any other host key is refused before authentication. */
  pin?: { fingerprint: string; source: string };
  /** The port forwarded to on the server's 127.0.0.1 (default 873, the rsync daemon). */
  remotePort?: number;
  report: Reporter;
  signal?: AbortSignal;
  /** Connection attempts, first and after a drop (default 4 each). */
  attempts?: number;
  /** Keep-alive interval (default 15 s); four unanswered ones end the connection. */
  keepaliveMs?: number;
}

export interface Tunnel {
  /** The local 127.0.0.1 port that reaches the server's rsync daemon. */
  localPort: number;
  /** The server's host key fingerprint (SHA256:...). */
  fingerprint: string;
  /** The negotiated cipher (client to server). */
  cipher: string;
  /** Times the connection was made again after it dropped. */
  reconnects(): number;
  close(): Promise<void>;
}

interface Connected {
  client: ssh2.Client;
  fingerprint: string;
  cipher: string;
}

/** Failures that a new attempt can cure (the server not up yet, a dropped link); wrong keys and host keys are final. */
function isRetryable(err: unknown): boolean {
  return !(err instanceof SiError && err.details.includes('final'));
}

/** One SSH connection attempt; the error names the server, the user and the key files tried. */
function connectOnce(o: TunnelOptions): Promise<Connected> {
  const port = o.port ?? 22;
  const where = `${o.user}@${o.host}:${port}`;
  const tried = o.keys.map((k) => `${k.file} (${k.type})`).join(', ');
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let fingerprint = '';
    let mismatch = false;
    let cipher = '';
    const fail = (message: string, final: boolean, cause?: unknown) => {
      client.end();
      reject(new SiError('E_SSH', message, { cause, details: final ? ['final'] : [] }));
    };
    client.on('handshake', (n) => (cipher = n.cs.cipher));
    client.on('ready', () => {
      client.setNoDelay(true);
      resolve({ client, fingerprint, cipher });
    });
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (mismatch) {
        fail(`the SSH host key of ${o.host}:${port} is ${fingerprint}, not ${o.pin!.fingerprint} (SSH_HOST_KEY from ${o.pin!.source}): refusing to log in`, true, err);
      } else if (err.level === 'client-authentication') {
        fail(`SSH server ${o.host}:${port} refused user ${o.user} with every key tried: ${tried}`, true, err);
      } else {
        fail(`cannot open SSH connection ${where} (keys ${tried}): ${err.code ?? err.message}`, false, err);
      }
    });
    const abort = () => fail(`SSH connection to ${where} aborted`, true);
    o.signal?.addEventListener('abort', abort, { once: true });
    client.on('close', () => o.signal?.removeEventListener('abort', abort));
    client.connect({
      host: o.host,
      port,
      username: o.user,
      readyTimeout: 20_000,
      keepaliveInterval: o.keepaliveMs ?? 15_000,
      keepaliveCountMax: 4,
      algorithms: { cipher: [...SSH_CIPHERS] },
      hostVerifier: (key: Buffer) => {
        fingerprint = fingerprintOf(key);
        mismatch = o.pin !== undefined && o.pin.fingerprint !== fingerprint;
        return !mismatch;
      },
      authHandler: o.keys.map((k) => ({ type: 'publickey' as const, username: o.user, key: k.data })),
    });
  });
}

/** Connects with bounded retries of connection failures (auth and host key failures are final). */
async function connect(o: TunnelOptions, what: string): Promise<Connected> {
  return await withRetry(() => connectOnce(o), {
    what,
    attempts: o.attempts ?? 4,
    baseMs: 500,
    capMs: 4000,
    deadlineMs: 60_000,
    report: o.report,
    signal: o.signal,
    retryIf: isRetryable,
  });
}

/** Opens the tunnel: connected and authenticated before it returns, so every failure comes before the first rsync. */
export async function openTunnel(o: TunnelOptions): Promise<Tunnel> {
  const remotePort = o.remotePort ?? 873;
  const where = `${o.user}@${o.host}:${o.port ?? 22}`;
  let current: Promise<Connected> | null = Promise.resolve(await connect(o, `SSH to ${where}`));
  const first = await current;
  let reconnects = 0;
  let closing = false;

  const watch = (c: Connected) => {
    c.client.on('close', () => {
      if (closing) return;
      o.report.warn(`SSH connection to ${where} dropped; it is made again for the next transfer`);
      current = null;
    });
  };
  watch(first);

  const connection = (): Promise<Connected> => {
    if (current) return current;
    reconnects++;
    const p = connect(o, `SSH to ${where} again`).then((c) => {
      if (c.fingerprint !== first.fingerprint) {
        c.client.end();
        throw new SiError('E_SSH', `the SSH host key of ${o.host} changed from ${first.fingerprint} to ${c.fingerprint} while reconnecting`);
      }
      watch(c);
      return c;
    });
    current = p;
    p.catch(() => {
      if (current === p) current = null;
    });
    return p;
  };

  const sockets = new Set<Socket>();
  const onLocal = (sock: Socket) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.pause();
    sock.on('error', () => sock.destroy());
    connection().then(
      (c) => {
        c.client.forwardOut('127.0.0.1', sock.remotePort ?? 0, '127.0.0.1', remotePort, (err, stream) => {
          if (err) {
            o.report.warn(`SSH forward to ${o.host}:127.0.0.1:${remotePort} refused: ${err.message}`);
            sock.destroy();
            return;
          }
          pipeBoth(sock, stream);
        });
      },
      (err: Error) => {
        o.report.warn(err.message);
        sock.destroy();
      },
    );
  };

  const server: Server = createServer(onLocal);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const localPort = (server.address() as AddressInfo).port;

  return {
    localPort,
    fingerprint: first.fingerprint,
    cipher: first.cipher,
    reconnects: () => reconnects,
    async close() {
      closing = true;
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      const c = await current?.catch(() => null);
      c?.client.end();
      await closed;
    },
  };
}
