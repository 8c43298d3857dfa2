// Which piece a connection is asked for next. Two rules make a swarm of install clients fast and spare the image
// server: the server's seeder is asked only for pieces no other peer offers (so each piece leaves the server about once
// and the clients trade the rest), and the clients pull near the extractor's read position (so the tarball is extracted
// while it downloads, not after). One pass over the pieces per new piece: no per-block or per-peer scans.

/** Piece states in the swarm's table. */
export const MISSING = 0;
export const ACTIVE = 1;
export const WRITING = 2;
export const HAVE = 3;

export interface PickInput {
  /** Per piece: MISSING, ACTIVE (being fetched), WRITING (verified, being stored) or HAVE. */
  state: Uint8Array;
  /** First piece not yet HAVE (the extractor's next read). */
  cursor: number;
  /** Per piece: how many other clients (not the image server) that are not choking us hold it. */
  offered: Uint16Array;
  /** Pieces the server may be asked for even when a peer offers them (they failed a hash check once). */
  serverAnyway: Set<number>;
  /** How far ahead of the cursor the server's pieces are drawn at random. */
  window: number;
  /** Whether any client other than the server is connected (else the server is simply read in order). */
  peersConnected: boolean;
}

/** The next piece to fetch from a connection holding `has`, or -1; `random` in [0,1) spreads the server's pieces. */
export function pickPiece(input: PickInput, has: (i: number) => boolean, fromServer: boolean, random: () => number = Math.random): number {
  const { state, cursor, offered, serverAnyway } = input;
  const n = state.length;
  if (!fromServer) {
    // Another client: the lowest piece it holds that we lack (what it has came from the server once; in order helps
    // the extractor, and each client's pieces spread to all the others within a window).
    for (let i = cursor; i < n; i++) if (state[i] === MISSING && has(i)) return i;
    return -1;
  }
  const eligible = (i: number) => state[i] === MISSING && (offered[i] === 0 || serverAnyway.has(i)) && has(i);
  if (!input.peersConnected) {
    for (let i = cursor; i < n; i++) if (eligible(i)) return i;
    return -1;
  }
  // With other clients about, each client draws the server's pieces at random from the next `window` eligible ones,
  // so clients that started together ask the server for different pieces and then trade them.
  const pool: number[] = [];
  for (let i = cursor; i < n && pool.length < input.window; i++) if (eligible(i)) pool.push(i);
  if (pool.length === 0) return -1;
  return pool[Math.min(pool.length - 1, Math.floor(random() * pool.length))]!;
}
