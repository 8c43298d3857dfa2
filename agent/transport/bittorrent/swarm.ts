// One torrent's swarm: its peer connections, which blocks are asked of whom, pieces verified (SHA-1) and stored in the
// staged tarball, what peers ask served from it, and the figures (bytes from the server and from peers, rates). The
// agent's own engine, so that piece choice follows the install's needs: see bittorrent-picker.ts.

import { connect } from 'node:net';
import { SiError } from '../../errors.js';
import { AnnounceLoop, type AnnounceQuery } from './announce.js';
import type { TorrentMeta } from './meta.js';
import { ACTIVE, HAVE, MISSING, WRITING, pickPiece } from './picker.js';
import { PieceStore, RateMeter } from './store.js';
import { BLOCK, Bitfield, Wire, type WireHandlers } from './wire.js';

/** Blocks asked of one connection at a time (1 MiB: a 200 Mbit link's 40 ms). */
const PIPELINE = 64;
/** Blocks answered before the pipeline is topped up again (one write of this many requests). */
const REFILL = 16;
/** Outgoing connections kept at most; incoming ones are accepted up to MAX_CONNS + 20. */
const MAX_CONNS = 50;
/** A block unanswered this long: its piece is given to whichever connection can fetch it. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Connections that sent this many pieces failing their hash check are dropped and not taken again. */
const MAX_BAD = 2;

export interface SwarmTally {
  /** Piece bytes received from the image server's seeder and from every other peer (before hash checks). */
  fromServer: number;
  fromPeers: number;
  /** Pieces that failed their hash check and were fetched again. */
  rejected: number;
}

export interface SwarmOptions {
  meta: TorrentMeta;
  /** The staged tarball: created (emptied) unless seedExisting. */
  file: string;
  peerId: Buffer;
  /** The port our listener announces. */
  port: number;
  bindAddress?: string;
  /** HTTP tracker to announce to (none: peers only from addPeer). */
  tracker?: string;
  /** Whether a peer address is the image server's (its seeder is spared: bittorrent-picker.ts). */
  isServer: (host: string) => boolean;
  /** The file already holds the content: every piece is checked, the good ones seeded. */
  seedExisting?: boolean;
  warn?: (message: string) => void;
  debug?: (message: string) => void;
}

interface Conn {
  wire: Wire;
  server: boolean;
  bits: Bitfield;
  peerChoking: boolean;
  amChoking: boolean;
  amInterested: boolean;
  /** Counted in `offered` (another client, not choking us). */
  counted: boolean;
  inflight: number;
  owned: Set<Active>;
  bad: number;
  uploads: Array<[number, number, number]>;
  serving: boolean;
  registered: boolean;
}

interface Active {
  index: number;
  length: number;
  buf: Buffer;
  blocks: number;
  received: Uint8Array;
  requester: Array<Conn | null>;
  requestedAt: Float64Array;
  got: number;
  owner: Conn | null;
}

interface Known {
  host: string;
  port: number;
  nextTry: number;
  fails: number;
}

export class Swarm {
  readonly meta: TorrentMeta;
  readonly infoHash: Buffer;
  readonly tally: SwarmTally = { fromServer: 0, fromPeers: 0, rejected: 0 };
  /** Verified bytes stored. */
  downloaded = 0;
  uploaded = 0;
  done = false;
  destroyed = false;
  private readonly state: Uint8Array;
  private readonly offered: Uint16Array;
  private readonly serverAnyway = new Set<number>();
  private readonly have: Bitfield;
  private cursor = 0;
  private haveCount = 0;
  private readonly conns = new Set<Conn>();
  private readonly active = new Map<number, Active>();
  private readonly known = new Map<string, Known>();
  private readonly dialing = new Set<string>();
  private readonly banned = new Set<string>();
  private readonly waiters = new Map<number, Array<{ resolve: () => void; reject: (e: Error) => void }>>();
  private readonly down = new RateMeter();
  private readonly up = new RateMeter();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly announcer: AnnounceLoop | null;
  private failure: Error | null = null;

  private constructor(private readonly o: SwarmOptions, private readonly store: PieceStore) {
    this.meta = o.meta;
    this.infoHash = Buffer.from(o.meta.infoHash, 'hex');
    this.state = new Uint8Array(o.meta.pieces);
    this.offered = new Uint16Array(o.meta.pieces);
    this.have = new Bitfield(o.meta.pieces);
    this.announcer = o.tracker
      ? new AnnounceLoop({
          tracker: o.tracker,
          query: (event) => this.query(event),
          onPeers: (peers) => peers.forEach((p) => this.addPeer(p.host, p.port)),
          isDone: () => this.done,
          debug: (m) => o.debug?.(`BitTorrent ${o.meta.name}: ${m}`),
        })
      : null;
  }

  /** Opens (or creates) the staged file and, when seeding existing data, checks every piece. */
  static async create(o: SwarmOptions): Promise<Swarm> {
    const s = new Swarm(o, await PieceStore.open(o.file, o.meta, o.seedExisting === true));
    if (o.seedExisting) await s.store.checkExisting((i, len) => s.stored(i, len));
    return s;
  }

  get numPeers(): number {
    let n = 0;
    for (const c of this.conns) if (c.registered) n++;
    return n;
  }
  get downloadSpeed(): number {
    return this.down.rate();
  }
  get uploadSpeed(): number {
    return this.up.rate();
  }

  /** Starts announcing and connecting. */
  start(): void {
    this.timers.push(setInterval(() => this.tick(), 1000));
    this.announcer?.start();
  }

  /** Adds a peer address to connect to (as a tracker would). */
  addPeer(host: string, port: number): void {
    const key = `${host}:${port}`;
    if (this.known.has(key) || (host === this.o.bindAddress && port === this.o.port)) return;
    this.known.set(key, { host, port, nextTry: 0, fails: 0 });
    this.tick();
  }

  /** Resolves once piece i is verified and stored; rejects if the swarm stops first. */
  whenHave(i: number): Promise<void> {
    if (this.state[i] === HAVE) return Promise.resolve();
    if (this.destroyed) return Promise.reject(this.stopError(i));
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(i) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(i, list);
    });
  }

  /** The stored bytes of the verified pieces from..from+count-1 (all must be HAVE), read at once. */
  readPieces(from: number, count: number): Promise<Buffer> {
    return this.store.readPieces(from, count);
  }

  /** How many pieces from i on are stored, up to max. */
  haveRun(i: number, max: number): number {
    let n = 0;
    while (n < max && i + n < this.state.length && this.state[i + n] === HAVE) n++;
    return n;
  }

  /** Takes an incoming connection whose handshake named this torrent. */
  accept(wire: Wire): void {
    if (this.destroyed || this.banned.has(wire.remoteAddress) || this.conns.size >= MAX_CONNS + 20) return wire.destroy('not accepted');
    const conn = this.newConn(wire);
    wire.sendHandshake(this.infoHash, this.o.peerId);
    this.register(conn);
  }

  /** Stops: every connection closed, waiters rejected, the file closed, the tracker told (at most 2 s). */
  async stop(reason = 'stopped'): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const t of this.timers) clearInterval(t);
    for (const c of [...this.conns]) c.wire.destroy(reason);
    for (const [i, list] of this.waiters) for (const w of list) w.reject(this.stopError(i));
    this.waiters.clear();
    await this.store.close();
    await this.announcer?.stop();
  }

  private stopError(i: number): Error {
    return this.failure ?? new SiError('E_TRANSFER', `BitTorrent ${this.meta.name}: the download stopped before piece ${i} arrived`);
  }

  private query(event?: AnnounceQuery['event']): AnnounceQuery {
    return { infoHash: this.infoHash, peerId: this.o.peerId, port: this.o.port, uploaded: this.uploaded, downloaded: this.downloaded, left: this.meta.length - this.downloaded, event };
  }

  private tick(): void {
    if (this.destroyed) return;
    const now = Date.now();
    // Stalled blocks: the piece goes to whoever can fetch it.
    let freed = false;
    for (const p of this.active.values()) {
      if (!p.owner) continue;
      for (let b = 0; b < p.blocks; b++) {
        if (p.requester[b] && now - p.requestedAt[b]! > REQUEST_TIMEOUT_MS) {
          this.o.debug?.(`BitTorrent ${this.meta.name}: piece ${p.index} stalled at ${p.owner.wire.remoteAddress}: asked elsewhere`);
          // A peer too slow to deliver what it offers must not hold the install back: the server may send it now.
          this.serverAnyway.add(p.index);
          this.orphan(p);
          freed = true;
          break;
        }
      }
    }
    if (freed) for (const c of this.conns) this.fill(c);
    if (this.done) return;
    let room = MAX_CONNS - this.conns.size - this.dialing.size;
    for (const k of this.known.values()) {
      if (room <= 0) break;
      if (k.nextTry > now || this.dialing.has(k.host) || this.banned.has(k.host) || this.connectedTo(k.host)) continue;
      room--;
      this.dial(k);
    }
  }

  private connectedTo(host: string): boolean {
    for (const c of this.conns) if (c.wire.remoteAddress === host) return true;
    return false;
  }

  private dial(k: Known): void {
    this.dialing.add(k.host);
    const socket = connect({ host: k.host, port: k.port, localAddress: this.o.bindAddress });
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer in 10 s')));
    const wire = new Wire(socket, true, k);
    const conn = this.newConn(wire);
    const settle = (ok: boolean) => {
      if (!this.dialing.delete(k.host)) return;
      k.fails = ok ? 0 : k.fails + 1;
      k.nextTry = Date.now() + (ok ? 5000 : Math.min(60_000, 2000 * 2 ** k.fails));
    };
    const handlers = conn.wire.handlers!;
    wire.handlers = {
      ...handlers,
      handshake: (infoHash, peerId) => {
        socket.setTimeout(0);
        settle(true);
        if (!infoHash.equals(this.infoHash)) return wire.destroy('another torrent');
        if (peerId.equals(this.o.peerId)) {
          k.nextTry = Infinity;
          return wire.destroy('our own address');
        }
        wire.handlers = handlers;
        this.register(conn);
      },
      close: (reason) => {
        settle(false);
        handlers.close(reason);
      },
    };
    socket.once('connect', () => wire.sendHandshake(this.infoHash, this.o.peerId));
  }

  private newConn(wire: Wire): Conn {
    const conn: Conn = {
      wire, server: this.o.isServer(wire.remoteAddress), bits: new Bitfield(this.meta.pieces), peerChoking: true, amChoking: true, amInterested: false,
      counted: false, inflight: 0, owned: new Set(), bad: 0, uploads: [], serving: false, registered: false,
    };
    const h: WireHandlers = {
      handshake: () => undefined,
      choke: () => {
        conn.peerChoking = true;
        this.setCounted(conn, false);
        for (const p of [...conn.owned]) this.orphan(p);
        this.release(conn);
      },
      unchoke: () => {
        conn.peerChoking = false;
        this.setCounted(conn, !conn.server);
        this.fill(conn);
      },
      interested: () => {
        if (conn.amChoking) {
          conn.amChoking = false;
          wire.unchoke();
        }
      },
      notInterested: () => undefined,
      have: (i) => {
        if (i >= this.meta.pieces || conn.bits.get(i)) return;
        conn.bits.set(i);
        if (conn.counted) this.offered[i]!++;
        if (this.state[i] !== HAVE && !conn.amInterested && !this.done) this.interest(conn);
        this.fill(conn);
      },
      bitfield: (bytes) => {
        const was = conn.counted;
        this.setCounted(conn, false);
        conn.bits = new Bitfield(this.meta.pieces, bytes);
        this.setCounted(conn, was);
        if (!this.done) for (let i = 0; i < this.meta.pieces; i++) if (conn.bits.get(i) && this.state[i] !== HAVE) return this.interest(conn);
      },
      request: (i, begin, length) => {
        if (conn.amChoking || i >= this.meta.pieces || this.state[i] !== HAVE || begin + length > this.pieceLength(i) || conn.uploads.length > 1000) return;
        conn.uploads.push([i, begin, length]);
        void this.serve(conn);
      },
      cancel: (i, begin, length) => {
        const at = conn.uploads.findIndex((u) => u[0] === i && u[1] === begin && u[2] === length);
        if (at >= 0) conn.uploads.splice(at, 1);
      },
      piece: (i, begin, block) => this.onBlock(conn, i, begin, block),
      close: (reason) => this.drop(conn, reason),
    };
    wire.handlers = h;
    return conn;
  }

  private register(conn: Conn): void {
    const theirs = conn.wire.peerId!;
    for (const other of this.conns) {
      if (!other.wire.peerId?.equals(theirs)) continue;
      // Two connections to one peer (both dialled): both sides keep the one opened by the smaller peer id.
      const opener = (c: Conn) => (c.wire.outgoing ? this.o.peerId : theirs);
      if (Buffer.compare(opener(conn), opener(other)) < 0) other.wire.destroy('duplicate connection');
      else return conn.wire.destroy('duplicate connection');
    }
    conn.registered = true;
    this.conns.add(conn);
    if (this.haveCount > 0) conn.wire.bitfield(this.have);
    this.o.debug?.(`BitTorrent ${this.meta.name}: ${conn.wire.outgoing ? 'connected to' : 'connection from'} ${conn.wire.remoteAddress}:${conn.wire.remotePort}${conn.server ? ' (image server)' : ''}`);
  }

  private drop(conn: Conn, reason: string): void {
    if (!this.conns.delete(conn)) return;
    conn.registered = false;
    this.setCounted(conn, false);
    for (const p of [...conn.owned]) this.orphan(p);
    this.release(conn);
    conn.uploads.length = 0;
    if (!this.destroyed) {
      this.o.debug?.(`BitTorrent ${this.meta.name}: ${conn.wire.remoteAddress} gone: ${reason}`);
      for (const c of this.conns) this.fill(c);
    }
  }

  private interest(conn: Conn): void {
    conn.amInterested = true;
    conn.wire.interested();
  }

  private setCounted(conn: Conn, on: boolean): void {
    if (conn.counted === on) return;
    conn.counted = on;
    const d = on ? 1 : -1;
    for (let i = 0; i < this.meta.pieces; i++) if (conn.bits.get(i)) this.offered[i]! += d;
  }

  private pieceLength(i: number): number {
    return this.store.pieceLength(i);
  }

  /** Asks a connection for blocks until its pipeline is full or it has nothing we need. */
  private fill(conn: Conn): void {
    if (this.destroyed || this.done || !conn.registered || conn.wire.closed || conn.peerChoking || !conn.amInterested) return;
    // The requests of one fill leave in one write: a send per 17-byte request was most of a client's CPU (on a veth
    // link the sender's system call also runs the receiver's network stack).
    conn.wire.socket.cork();
    try {
      while (conn.inflight < PIPELINE) {
        const p = this.nextPiece(conn);
        if (!p) return;
        for (let b = 0; b < p.blocks && conn.inflight < PIPELINE; b++) {
          if (p.received[b] || p.requester[b]) continue;
          p.requester[b] = conn;
          p.requestedAt[b] = Date.now();
          conn.inflight++;
          conn.wire.request(p.index, b * BLOCK, Math.min(BLOCK, p.length - b * BLOCK));
        }
      }
    } finally {
      conn.wire.socket.uncork();
    }
  }

  /** A piece this connection should fetch blocks of: one it owns with blocks left, an orphan it may take, or a new one. */
  private nextPiece(conn: Conn): Active | null {
    for (const p of conn.owned) if (hasUnrequested(p)) return p;
    for (const p of this.active.values()) {
      if (p.owner || !conn.bits.get(p.index) || !hasUnrequested(p)) continue;
      if (conn.server && this.offered[p.index]! > 0 && !this.serverAnyway.has(p.index)) continue;
      p.owner = conn;
      conn.owned.add(p);
      return p;
    }
    const i = pickPiece(
      { state: this.state, cursor: this.cursor, offered: this.offered, serverAnyway: this.serverAnyway, window: 64, peersConnected: this.clientsConnected() },
      (k) => conn.bits.get(k),
      conn.server,
    );
    if (i < 0) return null;
    const length = this.pieceLength(i);
    const blocks = Math.ceil(length / BLOCK);
    const p: Active = {
      index: i, length, buf: this.store.takePieceBuffer(), blocks, received: new Uint8Array(blocks),
      requester: new Array<Conn | null>(blocks).fill(null), requestedAt: new Float64Array(blocks), got: 0, owner: conn,
    };
    this.state[i] = ACTIVE;
    this.active.set(i, p);
    conn.owned.add(p);
    return p;
  }

  private clientsConnected(): boolean {
    for (const c of this.conns) if (!c.server && c.registered) return true;
    return false;
  }

  /** The piece loses its owner; blocks asked and not answered may be asked of another connection. */
  private orphan(p: Active): void {
    p.owner?.owned.delete(p);
    p.owner = null;
    for (let b = 0; b < p.blocks; b++) {
      const r = p.requester[b];
      if (r) {
        r.inflight--;
        p.requester[b] = null;
      }
    }
  }

  /** Forgets what a connection was asked (it choked us or is gone). */
  private release(conn: Conn): void {
    for (const p of this.active.values()) {
      for (let b = 0; b < p.blocks; b++) {
        if (p.requester[b] === conn) {
          p.requester[b] = null;
          conn.inflight--;
        }
      }
    }
  }

  private onBlock(conn: Conn, i: number, begin: number, block: Buffer): void {
    if (conn.server) this.tally.fromServer += block.length;
    else this.tally.fromPeers += block.length;
    this.down.add(block.length);
    const p = this.active.get(i);
    const b = begin / BLOCK;
    if (!p || !Number.isInteger(b) || b >= p.blocks || block.length !== Math.min(BLOCK, p.length - begin)) return this.fill(conn);
    const r = p.requester[b];
    if (r) {
      r.inflight--;
      p.requester[b] = null;
    }
    if (!p.received[b]) {
      block.copy(p.buf, begin);
      p.received[b] = 1;
      p.got++;
      if (p.got === p.blocks) this.complete(p, conn);
    }
    // Refilled in batches, not a request per block that arrives (see fill).
    if (conn.inflight <= PIPELINE - REFILL) this.fill(conn);
  }

  private complete(p: Active, from: Conn): void {
    this.active.delete(p.index);
    const owner = p.owner ?? from;
    p.owner?.owned.delete(p);
    if (!this.store.matches(p.index, p.buf.subarray(0, p.length))) {
      this.state[p.index] = MISSING;
      this.store.releasePiece(p.buf);
      this.tally.rejected++;
      this.serverAnyway.add(p.index);
      this.o.warn?.(`BitTorrent ${this.meta.name}: Piece ${p.index} failed verification (hash mismatch) from ${owner.wire.remoteAddress}: discarded and fetched again`);
      if (!owner.server && ++owner.bad >= MAX_BAD) {
        this.banned.add(owner.wire.remoteAddress);
        owner.wire.destroy(`${owner.bad} pieces failed their hash check`);
      }
      return;
    }
    this.state[p.index] = WRITING;
    this.store.writePiece(p.index, p.buf.subarray(0, p.length)).then(
      () => {
        this.store.releasePiece(p.buf);
        if (this.destroyed) return;
        this.stored(p.index, p.length);
      },
      (err: Error) => this.fail(new SiError('E_TRANSFER', `BitTorrent ${this.meta.name}: storing piece ${p.index} in ${this.o.file} failed: ${err.message}`, { cause: err })),
    );
  }

  private stored(i: number, length: number): void {
    this.state[i] = HAVE;
    this.have.set(i);
    this.haveCount++;
    this.downloaded += length;
    while (this.cursor < this.state.length && this.state[this.cursor] === HAVE) this.cursor++;
    for (const c of this.conns) c.wire.have(i);
    const list = this.waiters.get(i);
    if (list) {
      this.waiters.delete(i);
      for (const w of list) w.resolve();
    }
    if (this.haveCount === this.meta.pieces) this.finish();
  }

  private finish(): void {
    this.done = true;
    this.announcer?.now();
    for (const c of [...this.conns]) {
      // Two seeds have nothing to trade.
      if (c.bits.count() === this.meta.pieces) c.wire.destroy('both have every piece');
      else if (c.amInterested) {
        c.amInterested = false;
        c.wire.notInterested();
      }
    }
  }

  private fail(err: Error): void {
    this.failure = err;
    void this.stop(err.message);
  }

  /** Serves a connection's requests one block at a time from the staged file, waiting for its socket to drain. */
  private async serve(conn: Conn): Promise<void> {
    if (conn.serving) return;
    conn.serving = true;
    try {
      while (conn.uploads.length && !conn.wire.closed && !conn.amChoking && !this.destroyed) {
        const [i, begin, length] = conn.uploads.shift()!;
        // Blocks come from a pool and go back once sent: uploads make no garbage for the collector.
        const { buf, done: giveBack } = await this.store.readBlock(i, begin, length);
        if (conn.wire.closed) {
          giveBack();
          break;
        }
        this.uploaded += length;
        this.up.add(length);
        if (!conn.wire.piece(i, begin, buf, giveBack)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              conn.wire.socket.off('drain', done);
              conn.wire.socket.off('close', done);
              resolve();
            };
            conn.wire.socket.on('drain', done);
            conn.wire.socket.on('close', done);
          });
        }
      }
    } catch (err) {
      conn.wire.destroy(`serving failed: ${(err as Error).message}`);
    } finally {
      conn.serving = false;
    }
  }
}

function hasUnrequested(p: Active): boolean {
  for (let b = 0; b < p.blocks; b++) if (!p.received[b] && !p.requester[b]) return true;
  return false;
}
