// Spares the image server's link: a piece that another client already offers is not asked of the server's seeder,
// unless that piece has failed its hash check once (a peer that lies about its pieces cannot starve the install).

import type { Torrent, Wire } from 'webtorrent';

type RequestFn = (wire: Wire, index: number, hotswap: boolean) => boolean;
type PeerWire = Wire & { peerPieces?: { get(i: number): boolean }; peerChoking?: boolean };

/** Wraps the torrent's block requests so the server's wires only get pieces no other peer offers; returns a function
 *  that lets the server be asked for a piece again (call it when the piece failed verification). */
export function preferPeersOverServer(t: Torrent, isServer: (wire: Wire) => boolean): (index: number) => void {
  const fromServerToo = new Set<number>();
  // webtorrent has no per-peer policy; its (internal) request function is the one place every request goes through.
  const inner = t as unknown as { _request?: RequestFn; wires: PeerWire[] };
  const original = inner._request;
  if (typeof original !== 'function') return () => undefined;
  inner._request = function (this: unknown, wire: Wire, index: number, hotswap: boolean): boolean {
    if (isServer(wire) && !fromServerToo.has(index) && inner.wires.some((w) => w !== wire && !w.peerChoking && w.peerPieces?.get(index) && !isServer(w))) return false;
    return original.call(this, wire, index, hotswap);
  };
  return (index) => fromServerToo.add(index);
}
