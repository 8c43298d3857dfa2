// One BitTorrent peer connection over TCP (BEP 3): the handshake, message framing, and the messages the agent's swarm
// uses. No extensions are announced (reserved bytes all zero), so peers send none: no fast set, no PEX, no DHT port.

import type { Socket } from 'node:net';

/** Bytes of a block request: the size every client asks and serves. */
export const BLOCK = 16_384;
/** The largest block a peer may ask of us; longer requests are ignored. */
const MAX_REQUEST = 131_072;
/** A message longer than this is a broken or hostile peer (a piece message carries at most one request's block). */
const MAX_MESSAGE = MAX_REQUEST + 64 + 1_048_576;
const PSTR = Buffer.from('\x13BitTorrent protocol', 'latin1');
const HANDSHAKE_BYTES = 68;

/** A set of piece indexes as BitTorrent's bitfield: bit 7 of byte 0 is piece 0. */
export class Bitfield {
  readonly bytes: Uint8Array;
  constructor(readonly length: number, from?: Uint8Array) {
    this.bytes = new Uint8Array(Math.ceil(length / 8));
    if (from) this.bytes.set(from.subarray(0, this.bytes.length));
    // Spare bits past the last piece are ignored, whatever a peer sent in them.
    if (length % 8 && this.bytes.length) this.bytes[this.bytes.length - 1]! &= 0xff << (8 - (length % 8));
  }
  get(i: number): boolean {
    return ((this.bytes[i >> 3]! >> (7 - (i & 7))) & 1) === 1;
  }
  set(i: number): void {
    this.bytes[i >> 3]! |= 1 << (7 - (i & 7));
  }
  count(): number {
    let n = 0;
    for (const b of this.bytes) n += POPCOUNT[b]!;
    return n;
  }
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let x = b; x; x >>= 1) n += x & 1;
  return n;
});

export interface WireHandlers {
  handshake(infoHash: Buffer, peerId: Buffer): void;
  choke(): void;
  unchoke(): void;
  interested(): void;
  notInterested(): void;
  have(index: number): void;
  bitfield(bits: Uint8Array): void;
  request(index: number, begin: number, length: number): void;
  piece(index: number, begin: number, block: Buffer): void;
  cancel(index: number, begin: number, length: number): void;
  close(reason: string): void;
}

/** A peer connection: parses what arrives into the handlers' calls and writes messages; the swarm keeps the state. */
export class Wire {
  readonly remoteAddress: string;
  readonly remotePort: number;
  peerId: Buffer | null = null;
  handlers: WireHandlers | null = null;
  closed = false;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private handshaken = false;
  private keepalive: NodeJS.Timeout;
  private lastHeard = Date.now();

  /** An outgoing connection names its peer (the socket knows it only once connected). */
  constructor(readonly socket: Socket, readonly outgoing: boolean, peer?: { host: string; port: number }) {
    this.remoteAddress = peer?.host ?? (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    this.remotePort = peer?.port ?? socket.remotePort ?? 0;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (err: Error) => this.destroy(err.message));
    socket.on('close', () => this.destroy('connection closed'));
    // A keep-alive every 60 s; a peer silent for 3 minutes is gone (BEP 3's two minutes, with room for slow links).
    this.keepalive = setInterval(() => {
      if (Date.now() - this.lastHeard > 180_000) this.destroy('silent for 3 minutes');
      else this.write(Buffer.alloc(4));
    }, 60_000);
    this.keepalive.unref();
  }

  /** Sends the handshake for a torrent. */
  sendHandshake(infoHash: Buffer, peerId: Buffer): void {
    this.write(Buffer.concat([PSTR, Buffer.alloc(8), infoHash, peerId]));
  }

  choke(): void {
    this.write(message(0));
  }
  unchoke(): void {
    this.write(message(1));
  }
  interested(): void {
    this.write(message(2));
  }
  notInterested(): void {
    this.write(message(3));
  }
  have(index: number): void {
    this.write(message(4, [index]));
  }
  bitfield(bits: Bitfield): void {
    const m = message(5, [], bits.bytes.length);
    m.set(bits.bytes, 5);
    this.write(m);
  }
  request(index: number, begin: number, length: number): void {
    this.write(message(6, [index, begin, length]));
  }
  cancel(index: number, begin: number, length: number): void {
    this.write(message(8, [index, begin, length]));
  }
  /** Sends a block; false when the socket's buffer is full (wait for drain before the next). `sent` is called once the
   *  block's bytes are handed to the kernel or dropped with the connection (its buffer may then be used again). */
  piece(index: number, begin: number, block: Buffer, sent?: () => void): boolean {
    if (this.closed) {
      sent?.();
      return false;
    }
    this.socket.cork();
    this.socket.write(message(7, [index, begin], block.length));
    const ok = this.socket.write(block, sent);
    this.socket.uncork();
    return ok;
  }

  /** Closes the connection once; the handlers hear close(reason). */
  destroy(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepalive);
    this.socket.destroy();
    this.handlers?.close(reason);
  }

  private write(b: Uint8Array): boolean {
    if (this.closed) return false;
    return this.socket.write(b);
  }

  private onData(d: Buffer): void {
    this.lastHeard = Date.now();
    this.chunks.push(d);
    this.buffered += d.length;
    try {
      while (!this.closed) {
        if (!this.handshaken) {
          if (this.buffered < HANDSHAKE_BYTES) return;
          const h = this.take(HANDSHAKE_BYTES);
          if (!h.subarray(0, 20).equals(PSTR)) throw new Error('not a BitTorrent handshake');
          this.handshaken = true;
          this.peerId = Buffer.from(h.subarray(48, 68));
          this.handlers?.handshake(Buffer.from(h.subarray(28, 48)), this.peerId);
          continue;
        }
        if (this.buffered < 4) return;
        const len = this.peekLength();
        if (len > MAX_MESSAGE) throw new Error(`message of ${len} bytes`);
        if (this.buffered < 4 + len) return;
        this.take(4);
        if (len === 0) continue;
        this.dispatch(this.take(len));
      }
    } catch (err) {
      this.destroy(`protocol error: ${(err as Error).message}`);
    }
  }

  private dispatch(m: Buffer): void {
    const h = this.handlers;
    if (!h) return;
    const id = m[0]!;
    const u32 = (at: number) => m.readUInt32BE(at);
    switch (id) {
      case 0: return h.choke();
      case 1: return h.unchoke();
      case 2: return h.interested();
      case 3: return h.notInterested();
      case 4: return h.have(u32(1));
      case 5: return h.bitfield(m.subarray(1));
      case 6: return m.length === 13 && u32(9) <= MAX_REQUEST ? h.request(u32(1), u32(5), u32(9)) : undefined;
      case 7:
        if (m.length < 9) throw new Error('short piece message');
        return h.piece(u32(1), u32(5), m.subarray(9));
      case 8: return m.length === 13 ? h.cancel(u32(1), u32(5), u32(9)) : undefined;
      default: return; // port (DHT) and anything else we did not ask for: ignored
    }
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    return this.take(4, true).readUInt32BE(0);
  }

  /** The next n buffered bytes (no copy when one chunk holds them); peek leaves them buffered. */
  private take(n: number, peek = false): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (!peek) {
        if (first.length === n) this.chunks.shift();
        else this.chunks[0] = first.subarray(n);
        this.buffered -= n;
      }
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    let i = 0;
    while (got < n) {
      const c = this.chunks[i]!;
      const k = Math.min(c.length, n - got);
      c.copy(out, got, 0, k);
      got += k;
      if (!peek) {
        if (k === c.length) i++;
        else this.chunks[i] = c.subarray(k);
      } else i++;
    }
    if (!peek) {
      this.chunks.splice(0, i);
      this.buffered -= n;
    }
    return out;
  }
}

/** A message: 4-byte length, id, the 32-bit fields, then room for extra payload bytes the caller fills or sends after. */
function message(id: number, fields: number[] = [], extra = 0): Buffer {
  const body = 1 + fields.length * 4;
  const m = Buffer.allocUnsafe(4 + body + (id === 5 ? extra : 0));
  m.writeUInt32BE(body + extra, 0);
  m[4] = id;
  fields.forEach((f, i) => m.writeUInt32BE(f, 5 + i * 4));
  return m;
}
