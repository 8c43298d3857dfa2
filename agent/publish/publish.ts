// `si-agent publish`: packs SystemImager's images, overrides and scripts into a publish tree (manifest.json, its
// signature, images/*.tar.zst, overrides/*.tar.zst, scripts.tar.zst), with BitTorrent and multicast files on request.
// Trees whose listing did not change are not packed again.

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { createRunner, type Runner } from '../exec/runner.js';
import { SiError } from '../errors.js';
import { MANIFEST_FORMAT, fingerprintOf, parseManifest, rawPublicKey, serializeManifest, signManifest, type Artefact, type Manifest } from './manifest.js';
import { loadSignKey } from './keys.js';
import { findSources, type Source } from './sources.js';
import { Staging } from './staging.js';
import { imageExclude, listTree, type TreeListing } from './tree-list.js';
import { readTreeAttrs, type EntryAttrs } from './xattr-read.js';
import { hashTree } from './tree-hash.js';
import { packArtefact } from './artefact-pack.js';
import { publishTorrents, torrentUpToDate } from './publish-torrents.js';
import { publishCasts } from './publish-casts.js';
import type { PublishEvent } from './progress.js';

declare const SI_AGENT_VERSION: string | undefined;

export interface PublishOptions {
  images: string;
  overrides: string;
  scripts: string;
  out: string;
  /** Only these images (default: every directory under images). */
  imageNames?: string[];
  /** PKCS8 PEM file (or a loaded key) to sign the manifest with. */
  signKey?: string | KeyObject;
  /** Tracker URL: also write SystemImager's torrents directory. */
  torrents?: string;
  /** Also write the multicast `<module>.sha256` and `<image>.size` files. */
  multicast?: boolean;
  report?: (ev: PublishEvent) => void;
  run?: Runner;
  now?: () => Date;
  signal?: AbortSignal;
}

export interface PublishedArtefact extends Artefact {
  status: 'packed' | 'unchanged';
  /** The source directory. */
  dir: string;
}

export interface PublishResult {
  out: string;
  manifest: Manifest;
  manifestBytes: Buffer;
  signed: boolean;
  artefacts: PublishedArtefact[];
  torrents: Array<{ file: string; infoHash: string }>;
  casts: Array<{ module: string; sha256: string; size: number }>;
}

/** The tool's name and version as the manifest records it. */
export function toolName(): string {
  return `si-agent ${typeof SI_AGENT_VERSION === 'string' ? SI_AGENT_VERSION : 'dev'}`;
}

function readOldManifest(out: string, report: (ev: PublishEvent) => void): Manifest | null {
  const file = join(out, 'manifest.json');
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return null;
  }
  try {
    return parseManifest(bytes, file);
  } catch (err) {
    report({ type: 'warn', message: `${(err as Error).message}: every artefact is packed anew` });
    return null;
  }
}

function sizeOf(file: string): number | null {
  try {
    return statSync(file).size;
  } catch {
    return null;
  }
}

/** Publishes the sources into opts.out; returns what was written. A failure leaves the previous tree as it was. */
export async function publishTree(opts: PublishOptions): Promise<PublishResult> {
  const report = opts.report ?? (() => undefined);
  const run = opts.run ?? createRunner(null);
  const now = opts.now ?? (() => new Date());
  const key = typeof opts.signKey === 'string' ? loadSignKey(opts.signKey) : opts.signKey;
  const sources = findSources(opts);
  const old = readOldManifest(opts.out, report);
  const oldByPath = new Map((old?.artefacts ?? []).map((a) => [a.path, a]));
  const staging = new Staging(opts.out);
  try {
    const done: PublishedArtefact[] = [];
    for (const src of sources) {
      const listing = listTree(src.dir, src.kind === 'image' ? imageExclude : undefined);
      for (const s of listing.skipped) report({ type: 'warn', message: `${join(src.dir, s)}: a socket or other special file tar cannot hold, left out` });
      const attrs = await readTreeAttrs(run, src.dir);
      const tree = hashTree(listing, attrs);
      const prev = oldByPath.get(src.path);
      const unchanged = prev !== undefined && prev.tree === tree && prev.kind === src.kind && sizeOf(join(opts.out, src.path)) === prev.size && (!opts.torrents || !src.torrentBase || torrentUpToDate(opts.out, src.torrentBase, opts.torrents));
      if (unchanged) {
        done.push({ ...prev, status: 'unchanged', dir: src.dir });
        report({ type: 'done', path: src.path, status: 'unchanged', size: prev.size, sha256: prev.sha256, seconds: 0 });
        continue;
      }
      done.push(await packOne(run, staging, src, listing, attrs, tree, now, opts, report));
    }
    // Images published before and not named this time stay published; with no --image, a vanished source is dropped.
    const kept = opts.imageNames?.length ? (old?.artefacts ?? []).filter((a) => a.kind === 'image' && !done.some((d) => d.path === a.path) && sizeOf(join(opts.out, a.path)) === a.size) : [];
    for (const a of old?.artefacts ?? []) if (!done.some((d) => d.path === a.path) && !kept.includes(a)) staging.remove(a.path);
    const artefacts: Artefact[] = [...done.map(({ status: _s, dir: _d, ...a }) => a), ...kept];
    const torrents = opts.torrents ? publishTorrents(staging, opts.out, done, kept, opts.torrents) : [];
    const casts = opts.multicast ? await publishCasts(run, staging, opts.out, done, opts.signal) : [];
    const raw = key ? rawPublicKey(key) : null;
    const manifest: Manifest = {
      format: MANIFEST_FORMAT, tool: toolName(), created: now().toISOString(),
      key: raw ? raw.toString('base64') : null, fingerprint: raw ? fingerprintOf(raw) : null, artefacts,
    };
    const bytes = serializeManifest(manifest);
    if (key) staging.write('manifest.json.sig', signManifest(bytes, key));
    else staging.remove('manifest.json.sig');
    staging.write('manifest.json', bytes);
    staging.commit('manifest.json');
    report({ type: 'info', message: `${join(opts.out, 'manifest.json')}: ${artefacts.length} artefacts, ${done.filter((d) => d.status === 'packed').length} packed, ${key ? `signed by ${manifest.fingerprint}` : 'unsigned'}` });
    return { out: opts.out, manifest: JSON.parse(bytes.toString('utf8')) as Manifest, manifestBytes: bytes, signed: !!key, artefacts: done, torrents, casts };
  } catch (err) {
    staging.discard();
    throw err;
  }
}

async function packOne(run: Runner, staging: Staging, src: Source, listing: TreeListing, attrs: Map<string, EntryAttrs>, tree: string, now: () => Date, opts: PublishOptions, report: (ev: PublishEvent) => void): Promise<PublishedArtefact> {
  const started = Date.now();
  const total = listing.dataBytes;
  let doneBytes = 0;
  report({ type: 'start', path: src.path, total });
  const gz = opts.torrents && src.torrentBase ? staging.path(`torrents/${src.torrentBase}.tar.gz`) : null;
  let r;
  try {
    r = await packArtefact(run, listing, attrs, staging.path(src.path), gz, (n) => {
      doneBytes += n;
      report({ type: 'data', path: src.path, done: doneBytes, total });
    }, opts.signal);
  } catch (err) {
    if (err instanceof SiError) throw new SiError(err.code, `packing ${src.kind} ${src.name} (${src.dir}): ${err.message}`, { cause: err, details: err.details });
    throw err;
  }
  const created = now().toISOString();
  report({ type: 'done', path: src.path, status: 'packed', size: r.zst.size, sha256: r.zst.sha256, seconds: (Date.now() - started) / 1000 });
  return { path: src.path, kind: src.kind, name: src.name, size: r.zst.size, sha256: r.zst.sha256, created, tree, status: 'packed', dir: src.dir };
}
