// Reads a single-file torrent's data in piece order, each piece only once it has passed its hash check, without
// changing which pieces the peer asks for (unlike webtorrent's file stream, which makes the next pieces critical).

import { Readable } from 'node:stream';
import type { Torrent } from 'webtorrent';
import { SiError } from '../errors.js';

/** A stream of the torrent's bytes: piece i is read from the store once it is verified, then piece i+1, and so on. */
export function verifiedPieceStream(t: Torrent): Readable {
  const pieces = Math.ceil(t.length / t.pieceLength);
  const waitVerified = (index: number) =>
    new Promise<void>((resolve, reject) => {
      if (t.bitfield.get(index)) return resolve();
      const onVerified = (i: number) => {
        if (i !== index) return;
        cleanup();
        resolve();
      };
      const onClose = () => {
        cleanup();
        reject(new SiError('E_TRANSFER', `BitTorrent ${t.name}: the torrent closed before piece ${index} arrived`));
      };
      const cleanup = () => {
        t.off('verified', onVerified);
        t.off('close', onClose);
      };
      t.on('verified', onVerified);
      t.once('close', onClose);
    });
  const read = (index: number) =>
    new Promise<Buffer>((resolve, reject) => {
      const length = index === pieces - 1 ? t.length - index * t.pieceLength : t.pieceLength;
      t.store.get(index, { offset: 0, length }, (err, buf) => {
        if (err || !buf) return reject(new SiError('E_TRANSFER', `BitTorrent ${t.name}: reading verified piece ${index} back failed: ${err?.message ?? 'no data'}`, { cause: err }));
        resolve(Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
      });
    });
  return Readable.from(
    (async function* () {
      for (let i = 0; i < pieces; i++) {
        await waitVerified(i);
        yield await read(i);
      }
    })(),
    { objectMode: false },
  );
}
