// Reads a single-file torrent's data in piece order, each piece only once it has passed its hash check and is stored,
// without changing which pieces the swarm asks for: runs of stored pieces are read back at once (up to 1 MiB).

import { Readable } from 'node:stream';
import type { Swarm } from './swarm.js';

/** Most pieces read back in one go (the extractor copies them: a larger read is only more garbage). */
const RUN = 4;

/** A stream of the torrent's bytes: piece i is read once it is verified and stored, then the pieces after it. */
export function verifiedPieceStream(s: Swarm): Readable {
  const pieces = s.meta.pieces;
  return Readable.from(
    (async function* () {
      for (let i = 0; i < pieces; ) {
        await s.whenHave(i);
        const n = Math.max(1, s.haveRun(i, RUN));
        yield await s.readPieces(i, n);
        i += n;
      }
    })(),
    { objectMode: false },
  );
}
