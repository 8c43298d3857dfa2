// The torrents directory as SystemImager lays it out (image-NAME.tar.gz, override-NAME.tar.gz, each with its .torrent)
// and opentracker's whitelist of their info hashes, one hex digest per line.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseTorrentMeta } from '../transport/bittorrent/meta.js';
import type { Artefact } from './manifest.js';
import type { Staging } from './staging.js';
import { makeTorrent } from './torrent-make.js';

/** The torrents base name of an artefact (image-NAME, override-NAME), null for the scripts. */
export function torrentBaseOf(a: Pick<Artefact, 'kind' | 'name'>): string | null {
  return a.kind === 'image' ? `image-${a.name}` : a.kind === 'override' ? `override-${a.name}` : null;
}

/** The info hash of an existing torrent when it announces trackerUrl and its tarball is whole; null otherwise. */
function existingHash(out: string, base: string, trackerUrl: string): string | null {
  try {
    const file = join(out, 'torrents', `${base}.tar.gz.torrent`);
    const meta = parseTorrentMeta(readFileSync(file), file);
    if (meta.trackers[0] !== trackerUrl || meta.name !== `${base}.tar.gz`) return null;
    if (statSync(join(out, 'torrents', `${base}.tar.gz`)).size !== meta.length) return null;
    return meta.infoHash;
  } catch {
    return null;
  }
}

/** True when the tarball and torrent of base are there, whole, announcing trackerUrl. */
export function torrentUpToDate(out: string, base: string, trackerUrl: string): boolean {
  return existingHash(out, base, trackerUrl) !== null;
}

/** Stages the torrents of what was packed (their tarballs are staged already), keeps the others, writes the whitelist. */
export function publishTorrents(staging: Staging, out: string, done: Array<Artefact & { status: 'packed' | 'unchanged' }>, kept: Artefact[], trackerUrl: string): Array<{ file: string; infoHash: string }> {
  const result: Array<{ file: string; infoHash: string }> = [];
  const wanted = new Set<string>();
  for (const a of [...done, ...kept.map((k) => ({ ...k, status: 'unchanged' as const }))]) {
    const base = torrentBaseOf(a);
    if (!base) continue;
    wanted.add(`${base}.tar.gz`);
    wanted.add(`${base}.tar.gz.torrent`);
    const file = `torrents/${base}.tar.gz.torrent`;
    if (a.status === 'packed') {
      const gz = join(staging.dir, 'torrents', `${base}.tar.gz`);
      const t = makeTorrent(gz, `${base}.tar.gz`, statSync(gz).size, trackerUrl);
      staging.write(file, t.torrent);
      result.push({ file, infoHash: t.infoHash });
      continue;
    }
    const hash = existingHash(out, base, trackerUrl);
    // An image kept from an earlier publish without a torrent stays without one.
    if (hash) result.push({ file, infoHash: hash });
  }
  let present: string[] = [];
  try {
    present = readdirSync(join(out, 'torrents'));
  } catch {
    /* first publish with torrents */
  }
  for (const f of present) if (/^(image|override)-.*\.tar\.gz(\.torrent)?$/.test(f) && !wanted.has(f)) staging.remove(`torrents/${f}`);
  result.sort((x, y) => (x.file < y.file ? -1 : 1));
  staging.write('torrents/whitelist.txt', result.map((r) => r.infoHash + '\n').join(''));
  return result;
}
