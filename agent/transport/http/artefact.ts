// One artefact of the publish tree streamed into the extractor while it downloads, its sha256 checked against the manifest.

import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { SiError } from '../../errors.js';
import { extractTar, type ExtractCtx, type ExtractOptions } from '../tar/extract.js';
import { ArtefactFeed } from './feed.js';
import type { HttpSettings } from './client.js';
import type { Artefact } from './manifest.js';
import type { Reporter } from '../../report/events.js';

/** Passes over an artefact when the server keeps ignoring Range (each starts again from byte 0). */
const MAX_PASSES = 3;

export interface ArtefactOptions {
  base: URL;
  artefact: Artefact;
  settings: HttpSettings;
  dest: string;
  report: Reporter;
  signal?: AbortSignal;
  skip?: ExtractOptions['skip'];
  onBytes?: (offset: number) => void;
  /** Feed retry policy (tests shrink it). */
  attempts?: number;
}

export interface ArtefactResult {
  bytes: number;
  sha256: string;
  entries: number;
  resumes: number;
  passes: number;
}

/** The artefact's URL: its manifest path under the tree's base URL (a query, as a presigned base has, is kept). */
export function artefactUrl(base: URL, path: string): URL {
  const u = new URL(base.href);
  u.pathname = `${u.pathname.replace(/\/*$/, '')}/${path}`;
  return u;
}

function mismatch(o: ArtefactOptions, url: URL, got: string, cause?: unknown): SiError {
  const a = o.artefact;
  return new SiError('E_TRANSFER', `${a.kind} ${a.name} (${url.href}): sha256 mismatch: the manifest says ${a.sha256}, the ${a.size} bytes received hash to ${got}`, { cause });
}

/**
 * Extracts the artefact into dest as it downloads. A server that ignores Range after a dropped connection sends the
 * whole artefact again: the extraction that was under way is stopped and a new one runs from byte 0 over what the first
 * left. That is correct because both read the same archive (the sha256 at the end proves it): every entry the first
 * pass wrote, whole or cut short, is one the second writes again (the extractor replaces what is in the way, as GNU tar
 * does), and nothing the archive lacks was written.
 */
export async function extractArtefact(ctx: ExtractCtx, o: ArtefactOptions): Promise<ArtefactResult> {
  const url = artefactUrl(o.base, o.artefact.path);
  const what = `${o.artefact.kind} ${o.artefact.name} (${o.artefact.path})`;
  let first: IncomingMessage | undefined;
  for (let pass = 1; ; pass++) {
    const feed = new ArtefactFeed({ url, what, size: o.artefact.size, settings: o.settings, report: o.report, signal: o.signal, onBytes: o.onBytes, attempts: o.attempts, first });
    try {
      const r = await extractTar(ctx, Readable.from(feed.chunks()), o.dest, { hashStream: false, signal: o.signal, skip: o.skip });
      if (!feed.complete) throw new SiError('E_TRANSFER', `${what}: the archive ended at byte ${feed.offset} of ${o.artefact.size}`);
      const got = feed.digest();
      if (got !== o.artefact.sha256) throw mismatch(o, url, got);
      return { bytes: feed.offset, sha256: got, entries: r.entries, resumes: feed.resumes, passes: pass };
    } catch (err) {
      await feed.stop();
      if (feed.restartWith && pass < MAX_PASSES) {
        o.report.warn(`${url.href}: the server ignored Range at byte ${feed.offset}: ${what} starts again from byte 0 (pass ${pass + 1}, extracting again over what pass ${pass} wrote)`);
        first = feed.restartWith;
        continue;
      }
      feed.restartWith?.destroy();
      if (err instanceof SiError && /sha256 mismatch/.test(err.message)) throw err;
      throw await explainFailure(feed, o, url, what, err);
    }
  }
}

/** An extraction that failed before the end may have read altered bytes: the rest is read and hashed to tell. */
async function explainFailure(feed: ArtefactFeed, o: ArtefactOptions, url: URL, what: string, err: unknown): Promise<SiError> {
  if (feed.failure instanceof SiError) return feed.failure;
  const e = err instanceof SiError ? err : new SiError('E_TRANSFER', `${what} from ${url.href}: ${(err as Error).message}`, { cause: err });
  if (o.signal?.aborted || feed.restartWith) return e;
  try {
    if (!feed.complete) await feed.drain();
  } catch {
    return e; // the network failed too: the first error says what happened
  }
  const got = feed.digest();
  if (got !== o.artefact.sha256) return mismatch(o, url, got, err);
  return err instanceof SiError ? new SiError(e.code, `${what} from ${url.href}: ${e.message}`, { cause: err, details: e.details }) : e;
}
