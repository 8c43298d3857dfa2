// The agent's BitTorrent peer: one TCP listener on the install address, one swarm per torrent, HTTP trackers only (no
// DHT, LSD, PEX, uTP, WebRTC). The piece engine is the agent's own (bittorrent-swarm.ts): webtorrent's scheduler spent
// most of a client's CPU scanning every piece for every request at the size of a real image and stalled the swarm.

import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { SiError } from '../../errors.js';
import type { TorrentMeta } from './meta.js';
import { Swarm } from './swarm.js';
import { Wire } from './wire.js';

export interface PeerOptions {
  /** The install address; the peer listens there only (undefined: every address). */
  bindAddress?: string;
  /** TCP port to listen on (0: any free one). */
  port?: number;
}

export interface Peer {
  port: number;
  bindAddress?: string;
  peerId: Buffer;
  swarms: Swarm[];
  /** Stops every swarm and the listener; safe to call twice. */
  stop(): Promise<void>;
}

export interface AddOptions {
  /** The staged tarball's path. */
  file: string;
  tracker?: string;
  isServer?: (host: string) => boolean;
  /** The file holds the content already: check it and seed. */
  seedExisting?: boolean;
  warn?: (message: string) => void;
  debug?: (message: string) => void;
}

/** Starts the listener on the install address; incoming connections are handed to the swarm their handshake names. */
export async function startPeer(opts: PeerOptions): Promise<Peer> {
  const swarms: Swarm[] = [];
  const server: Server = createServer((socket) => {
    socket.setTimeout(15_000, () => socket.destroy());
    const wire = new Wire(socket, false);
    wire.handlers = {
      handshake: (infoHash) => {
        socket.setTimeout(0);
        const s = swarms.find((x) => x.infoHash.equals(infoHash) && !x.destroyed);
        if (s) s.accept(wire);
        else wire.destroy('no such torrent here');
      },
      choke: noop, unchoke: noop, interested: noop, notInterested: noop, have: noop, bitfield: noop, request: noop, piece: noop, cancel: noop, close: noop,
    };
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: Error) => reject(new SiError('E_TRANSFER', `BitTorrent peer cannot listen on ${opts.bindAddress ?? '*'}:${opts.port ?? 0}: ${err.message}`, { cause: err })));
    server.listen({ port: opts.port ?? 0, host: opts.bindAddress }, () => resolve());
  });
  server.on('error', () => undefined);
  const port = (server.address() as { port: number }).port;
  const peerId = Buffer.concat([Buffer.from('-SI0200-'), randomBytes(12)]);
  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      server.close();
      await Promise.all(swarms.map((s) => s.stop()));
    })());
  return { port, bindAddress: opts.bindAddress, peerId, swarms, stop };
}

/** Adds a torrent to the peer and starts it: announcing, connecting, downloading (or seeding existing data). */
export async function addTorrent(peer: Peer, meta: TorrentMeta, o: AddOptions): Promise<Swarm> {
  if (meta.files !== 1) throw new SiError('E_TRANSFER', `torrent ${meta.name} holds ${meta.files} files; a SystemImager torrent holds one tarball`);
  const s = await Swarm.create({ meta, file: o.file, peerId: peer.peerId, port: peer.port, bindAddress: peer.bindAddress, tracker: o.tracker, isServer: o.isServer ?? (() => false), seedExisting: o.seedExisting, warn: o.warn, debug: o.debug });
  peer.swarms.push(s);
  s.start();
  return s;
}

function noop(): void {}
