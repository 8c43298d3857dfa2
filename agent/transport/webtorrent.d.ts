// The part of webtorrent 3's API the agent uses (the package ships no type declarations).

declare module 'webtorrent' {
  import type { EventEmitter } from 'node:events';
  import type { Readable } from 'node:stream';
  import type { Server } from 'node:net';

  export interface Wire extends EventEmitter {
    remoteAddress: string;
    remotePort: number;
    downloaded: number;
    uploaded: number;
    destroy(): void;
  }

  export interface TorrentFile {
    name: string;
    path: string;
    length: number;
    createReadStream(opts?: { start?: number; end?: number }): Readable;
  }

  export interface Torrent extends EventEmitter {
    infoHash: string;
    name: string;
    length: number;
    pieceLength: number;
    downloaded: number;
    uploaded: number;
    received: number;
    downloadSpeed: number;
    uploadSpeed: number;
    progress: number;
    numPeers: number;
    timeRemaining: number;
    done: boolean;
    ready: boolean;
    path: string;
    files: TorrentFile[];
    wires: Wire[];
    bitfield: { get(index: number): boolean };
    store: { get(index: number, opts: { offset: number; length: number }, cb: (err: Error | null, buf?: Uint8Array) => void): void };
    announce: string[];
    destroy(opts?: { destroyStore?: boolean }, cb?: (err?: Error | null) => void): void;
  }

  export interface ClientOptions {
    dht?: boolean | object;
    lsd?: boolean;
    utPex?: boolean;
    utp?: boolean;
    natUpnp?: boolean;
    natPmp?: boolean;
    tracker?: boolean | object;
    webSeeds?: boolean;
    torrentPort?: number;
    maxConns?: number;
    seedOutgoingConnections?: boolean;
  }

  export interface AddOptions {
    path?: string;
    announce?: string[];
    skipVerify?: boolean;
    storeCacheSlots?: number;
    deselect?: boolean;
    strategy?: 'rarest' | 'sequential';
  }

  export default class WebTorrent extends EventEmitter {
    constructor(opts?: ClientOptions);
    torrentPort: number;
    listening: boolean;
    torrents: Torrent[];
    _connPool?: { tcpServer: Server | null };
    add(torrentId: Buffer | Uint8Array | string, opts?: AddOptions, onTorrent?: (t: Torrent) => void): Torrent;
    destroy(cb?: (err?: Error | null) => void): void;
  }
}
