// The agent's BitTorrent peer: webtorrent over TCP only, listening on the install address, trackers only (no DHT, LSD, PEX, uTP).

import WebTorrent, { type Torrent } from 'webtorrent';
import { SiError } from '../errors.js';

export interface PeerOptions {
  /** The install address; the peer listens there only (undefined: every address). */
  bindAddress?: string;
  /** TCP port to listen on (0: any free one). */
  port?: number;
}

export interface Peer {
  client: WebTorrent;
  port: number;
  /** Stops every torrent and the listener; safe to call twice. */
  stop(): Promise<void>;
}

/** Starts a webtorrent client that talks to trackers and TCP peers only, listening on the install address. */
export async function startPeer(opts: PeerOptions): Promise<Peer> {
  const client = new WebTorrent({
    dht: false,
    lsd: false,
    utPex: false,
    utp: false,
    natUpnp: false,
    natPmp: false,
    webSeeds: false,
    torrentPort: opts.port ?? 0,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('listening', () => resolve());
    client.once('error', (err: Error) => reject(new SiError('E_TRANSFER', `BitTorrent peer could not listen: ${err.message}`, { cause: err })));
  });
  const port = client.torrentPort;
  if (opts.bindAddress) await rebind(client, opts.bindAddress, port);
  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= new Promise<void>((resolve) => {
      client.destroy(() => resolve());
    }));
  return { client, port, stop };
}

// webtorrent listens on every address and takes no host; before any torrent is added (nobody knows the port yet)
// the listener is moved to the install address on the same port, so the tracker announces stay right.
async function rebind(client: WebTorrent, host: string, port: number): Promise<void> {
  const server = client._connPool?.tcpServer;
  if (!server) return;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(new SiError('E_TRANSFER', `BitTorrent peer cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen({ port, host }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Adds a torrent (its .torrent bytes) storing data under dir; resolves once its metadata is ready. */
export async function addTorrent(peer: Peer, torrentFile: Buffer, dir: string): Promise<Torrent> {
  return new Promise<Torrent>((resolve, reject) => {
    // Rarest first: clients that all read in order would all want the same pieces from the server at the same time;
    // the extractor's stream still gets its next pieces first (webtorrent marks them critical).
    const t = peer.client.add(torrentFile, { path: dir, strategy: 'rarest' });
    const onError = (err: Error) => reject(new SiError('E_TRANSFER', `BitTorrent: ${err.message}`, { cause: err }));
    t.once('error', onError);
    t.once('ready', () => {
      t.off('error', onError);
      resolve(t);
    });
  });
}

/** Removes a torrent from the client, keeping its data (the caller deletes the staged file). */
export async function removeTorrent(t: Torrent): Promise<void> {
  if ((t as unknown as { destroyed?: boolean }).destroyed) return;
  await new Promise<void>((resolve) => t.destroy({ destroyStore: false }, () => resolve()));
}
