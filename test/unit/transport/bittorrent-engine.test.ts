// Unit tests for the agent's BitTorrent engine: the piece picker's rules, tracker answers, and peers of this process
// trading a file over TCP on 127.0.0.1: a seeder standing for the image server and two clients that must feed each
// other, a peer that serves garbage (rejected by hash, then dropped), and a stop in the middle of a download.

import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAnnounce } from '../../../agent/transport/bittorrent/announce.js';
import { addTorrent, startPeer, type Peer } from '../../../agent/transport/bittorrent/client.js';
import type { TorrentMeta } from '../../../agent/transport/bittorrent/meta.js';
import { verifiedPieceStream } from '../../../agent/transport/bittorrent/pieces.js';
import { ACTIVE, HAVE, MISSING, pickPiece, type PickInput } from '../../../agent/transport/bittorrent/picker.js';
import { Bitfield, Wire } from '../../../agent/transport/bittorrent/wire.js';

function metaOf(data: Buffer, name: string, pieceLength: number): TorrentMeta {
  const hashes: Buffer[] = [];
  for (let o = 0; o < data.length; o += pieceLength) hashes.push(createHash('sha1').update(data.subarray(o, o + pieceLength)).digest());
  const pieceHashes = Buffer.concat(hashes);
  return { name, length: data.length, pieceLength, pieces: hashes.length, trackers: [], infoHash: createHash('sha1').update(pieceHashes).digest('hex'), pieceHashes, files: 1 };
}

function input(state: number[], offered: number[], o: Partial<PickInput> = {}): PickInput {
  const s = Uint8Array.from(state);
  let cursor = 0;
  while (cursor < s.length && s[cursor] === HAVE) cursor++;
  return { state: s, cursor, offered: Uint16Array.from(offered), serverAnyway: new Set(), window: 64, peersConnected: true, ...o };
}

describe('pickPiece', () => {
  const all = () => true;
  it('asks another client for the lowest piece it holds that we lack', () => {
    const i = input([HAVE, ACTIVE, MISSING, MISSING, MISSING], [0, 0, 0, 0, 0]);
    expect(pickPiece(i, (k) => k >= 3, false)).toBe(3);
    expect(pickPiece(i, (k) => k === 1, false)).toBe(-1);
  });
  it('asks the image server only for pieces no other client offers, unless one failed its hash check', () => {
    const i = input([MISSING, MISSING, MISSING, MISSING], [1, 2, 0, 1]);
    const seen = new Set<number>();
    for (let r = 0; r < 40; r++) seen.add(pickPiece(i, all, true, () => r / 40));
    expect([...seen]).toEqual([2]);
    i.serverAnyway.add(3);
    const again = new Set<number>();
    for (let r = 0; r < 40; r++) again.add(pickPiece(i, all, true, () => r / 40));
    expect([...again].sort()).toEqual([2, 3]);
    expect(pickPiece(input([MISSING, HAVE], [1, 0]), all, true)).toBe(-1);
  });
  it('draws the server pieces at random within the window when clients trade, in order when none is connected', () => {
    const state = new Array(200).fill(MISSING);
    const offered = new Array(200).fill(0);
    expect(pickPiece(input(state, offered, { peersConnected: false }), all, true, () => 0.99)).toBe(0);
    expect(pickPiece(input(state, offered, { window: 64 }), all, true, () => 0.99)).toBe(63);
    expect(pickPiece(input(state, offered, { window: 64 }), all, true, () => 0.5)).toBe(32);
  });
});

describe('parseAnnounce', () => {
  it('reads compact IPv4 and IPv6 peers and the interval; a failure reason names the tracker', () => {
    const v4 = Buffer.from([10, 0, 0, 5, 0x1a, 0xe1, 127, 0, 0, 1, 0, 0]);
    const v6 = Buffer.alloc(18);
    v6.writeUInt16BE(0xfd42, 0);
    v6.writeUInt16BE(1, 14);
    v6.writeUInt16BE(6881, 16);
    const body = Buffer.concat([Buffer.from('d8:intervali1800e5:peers12:'), v4, Buffer.from('6:peers618:'), v6, Buffer.from('e')]);
    expect(parseAnnounce(body, 'http://t/announce')).toEqual({ interval: 1800, peers: [{ host: '10.0.0.5', port: 6881 }, { host: 'fd42::1', port: 6881 }] });
    expect(() => parseAnnounce(Buffer.from('d14:failure reason9:not knowne'), 'http://t/a')).toThrow('tracker http://t/a refuses the announce: not known');
    expect(() => parseAnnounce(Buffer.from('<html>'), 'http://t/a')).toThrow(/tracker http:\/\/t\/a answered with a malformed body/);
  });
});

describe('Bitfield', () => {
  it('ignores spare bits past the last piece and counts the set ones', () => {
    const b = new Bitfield(10, Uint8Array.from([0xff, 0xff]));
    expect(b.count()).toBe(10);
    expect(b.get(9)).toBe(true);
  });
});

describe('the agent peers in process', () => {
  const peers: Peer[] = [];
  const servers: Server[] = [];
  let dir = '';
  afterEach(async () => {
    for (const p of peers.splice(0)) await p.stop();
    for (const s of servers.splice(0)) s.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('two clients download from a seeder standing for the image server and trade pieces; the streams are exact', async () => {
    dir = mkdtempSync(join(tmpdir(), 'si-bt-engine-'));
    const data = randomBytes(3 << 20);
    const meta = metaOf(data, 'blob.tar', 32_768);
    writeFileSync(join(dir, 'seed.tar'), data);
    const seeder = await startPeer({ bindAddress: '127.0.0.1' });
    const a = await startPeer({ bindAddress: '127.0.0.1' });
    const b = await startPeer({ bindAddress: '127.0.0.1' });
    peers.push(seeder, a, b);
    const seed = await addTorrent(seeder, meta, { file: join(dir, 'seed.tar'), seedExisting: true });
    expect(seed.done).toBe(true);
    // 127.0.0.1 is every peer's address here: the "server" is told apart by its port through the dialled connection.
    const serverPort = seeder.port;
    const isServer = (host: string) => host === 'server';
    const sa = await addTorrent(a, meta, { file: join(dir, 'a.tar'), isServer });
    const sb = await addTorrent(b, meta, { file: join(dir, 'b.tar'), isServer });
    sa.addPeer('127.0.0.1', serverPort);
    sb.addPeer('127.0.0.1', a.port);
    const collect = async (s: typeof sa) => {
      const parts: Buffer[] = [];
      for await (const c of verifiedPieceStream(s)) parts.push(c as Buffer);
      return Buffer.concat(parts);
    };
    const [ga, gb] = await Promise.all([collect(sa), collect(sb)]);
    expect(ga.equals(data)).toBe(true);
    expect(gb.equals(data)).toBe(true);
    expect(readFileSync(join(dir, 'b.tar')).equals(data)).toBe(true);
    // b heard only of a: everything it has came from a, which served it from its own verified pieces.
    expect(sb.tally.fromPeers).toBeGreaterThanOrEqual(data.length);
    expect(sa.uploaded).toBeGreaterThanOrEqual(data.length);
    expect(sa.done && sb.done).toBe(true);
  });

  it('a peer that serves garbage: its pieces fail the hash check, it is dropped, and the good seeder completes the download', async () => {
    dir = mkdtempSync(join(tmpdir(), 'si-bt-engine-'));
    const data = randomBytes(1 << 20);
    const meta = metaOf(data, 'blob.tar', 65_536);
    writeFileSync(join(dir, 'seed.tar'), data);
    // The liar: handshakes, claims every piece, unchokes, and answers each request with random bytes.
    const liar = createServer((sock) => {
      const w = new Wire(sock, false);
      const full = new Bitfield(meta.pieces, new Uint8Array(Math.ceil(meta.pieces / 8)).fill(0xff));
      w.handlers = {
        handshake: (ih) => {
          w.sendHandshake(ih, Buffer.alloc(20, 0x6c));
          w.bitfield(full);
          w.unchoke();
        },
        request: (i, begin, length) => void w.piece(i, begin, randomBytes(length)),
        choke() {}, unchoke() {}, interested() {}, notInterested() {}, have() {}, bitfield() {}, piece() {}, cancel() {}, close() {},
      };
    });
    servers.push(liar);
    await new Promise<void>((r) => liar.listen(0, '127.0.0.2', () => r()));
    const seeder = await startPeer({ bindAddress: '127.0.0.1' });
    const client = await startPeer({ bindAddress: '127.0.0.1' });
    peers.push(seeder, client);
    await addTorrent(seeder, meta, { file: join(dir, 'seed.tar'), seedExisting: true });
    const warnings: string[] = [];
    const s = await addTorrent(client, meta, { file: join(dir, 'c.tar'), warn: (m) => warnings.push(m), debug: (m) => process.env.BT_DEBUG && console.log(Date.now() % 100000, m) });
    s.addPeer('127.0.0.2', (liar.address() as { port: number }).port);
    // Give the liar the first go, then let the real seeder in.
    await new Promise((r) => setTimeout(r, 300));
    s.addPeer('127.0.0.1', seeder.port);
    for (let i = 0; i < meta.pieces; i++) await s.whenHave(i);
    expect(readFileSync(join(dir, 'c.tar')).equals(data)).toBe(true);
    expect(s.tally.rejected).toBeGreaterThanOrEqual(1);
    expect(warnings.some((w) => /Piece \d+ failed verification \(hash mismatch\) from 127\.0\.0\.2: discarded and fetched again/.test(w)), warnings.join("\n")).toBe(true);
    // Dropped after its second bad piece and never taken again.
    expect(s.tally.rejected).toBeLessThanOrEqual(2 + 4);
  });

  it('stop in the middle: waiting readers are told at once, connections close, nothing more is fetched', async () => {
    dir = mkdtempSync(join(tmpdir(), 'si-bt-engine-'));
    const data = randomBytes(1 << 20);
    const meta = metaOf(data, 'blob.tar', 65_536);
    const client = await startPeer({ bindAddress: '127.0.0.1' });
    peers.push(client);
    // A silent peer: accepts the connection and never answers, so the download can only wait.
    const silent = createServer(() => undefined);
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const s = await addTorrent(client, meta, { file: join(dir, 'c.tar') });
    s.addPeer('127.0.0.1', (silent.address() as { port: number }).port);
    const waiting = s.whenHave(0);
    setTimeout(() => void client.stop(), 100);
    await expect(waiting).rejects.toThrow(/BitTorrent blob\.tar: the download stopped before piece 0 arrived/);
    expect(s.destroyed).toBe(true);
    expect(s.numPeers).toBe(0);
  });
});
