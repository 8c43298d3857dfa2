// BitTorrent install (SPEC 7): torrents from the `torrents` module, the image and each override downloaded and extracted at once.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SiError } from '../errors.js';
import { getBool, getPort, getUint } from '../params/validate.js';
import { systemPaths } from '../exec/tools.js';
import { rsyncFetch, applyOverrides } from '../transport/rsync/rsync.js';
import { checkName } from '../transport/rsync/url.js';
import { receiveCast } from '../transport/multicast/receive.js';
import { parseTorrentMeta } from '../transport/bittorrent/meta.js';
import { chooseStaging } from '../transport/bittorrent/staging.js';
import { checkTracker } from '../transport/bittorrent/tracker.js';
import { type Ctx, param, rsyncEndpoint } from './context.js';
import { flamethrowerDirectory, isMulticast } from './multicast.js';
import { ensureSession } from './bittorrent-session.js';

/** True when the image and overrides come over BitTorrent (BITTORRENT=y). */
export function imageOverBittorrent(ctx: Ctx): boolean {
  return getBool(ctx.params, 'BITTORRENT');
}

/** Fetches the torrents once per flow: rsync module `torrents`, or the multicast module `autoinstall_torrents`. */
export async function fetchTorrents(ctx: Ctx): Promise<string> {
  const dir = join(ctx.opts.workdir, 'torrents');
  if (existsSync(join(dir, '.fetched'))) return dir;
  mkdirSync(dir, { recursive: true });
  if (isMulticast(ctx)) {
    const settings = (await flamethrowerDirectory(ctx)).get('autoinstall_torrents');
    if (!settings) throw new SiError('E_SERVER', 'the Flamethrower directory has no module autoinstall_torrents (the torrents)');
    const waitS = getUint(ctx.params, 'FLAMETHROWER_WAIT');
    await receiveCast(ctx, { settings, iface: param(ctx, 'DEVICE'), dest: dir, waitS, retries: getUint(ctx.params, 'FLAMETHROWER_RETRIES') });
  } else {
    // Only the .torrent files: SystemImager keeps the tarballs in the same directory, and they are what the swarm is for.
    await rsyncFetch(ctx, { ...rsyncEndpoint(ctx), src: 'torrents/', dest: dir + '/', extraArgs: ['--include=*.torrent', '--exclude=*'] });
  }
  mkdirSync(join(dir, '.fetched'));
  return dir;
}

/** The torrent file for a tarball base name (`image-NAME`, `override-NAME`): .tar.gz first, then .tar; null when neither. */
export function findTorrent(dir: string, base: string): string | null {
  for (const ext of ['.tar.gz.torrent', '.tar.torrent']) {
    const f = join(dir, base + ext);
    if (existsSync(f)) return f;
  }
  return null;
}

/** Leaves out what the rsync transport excludes (lost+found, /proc contents). */
function imageSkip(rel: string): boolean {
  return /(^|\/)lost\+found(\/|$)/.test(rel) || rel.startsWith('proc/');
}

/** Downloads one torrent's tarball into the staging place and extracts it over the target; the peer seeds on. */
async function installTorrent(ctx: Ctx, file: string, phase: string | undefined, skip?: (rel: string) => boolean): Promise<number> {
  const buf = readFileSync(file);
  const meta = parseTorrentMeta(buf, file);
  const paths = systemPaths();
  // Before anything is downloaded: room to stage it, then a tracker that answers.
  const stagingDir = chooseStaging(meta.length, { explicit: param(ctx, 'BITTORRENT_STAGING'), tmp: paths.tmp, sysroot: ctx.opts.sysroot, procMounts: paths.procMounts });
  const session = await ensureSession(ctx);
  const tracker = await checkTracker(meta, file, { report: ctx.report, signal: ctx.signal, port: session.peer.port });
  ctx.report.info(`BitTorrent ${meta.name}: ${meta.length} bytes in ${meta.pieces} pieces, staged in ${stagingDir}, tracker ${tracker}`);
  session.staged.push(join(stagingDir, meta.name));
  const started = Date.now();
  const pollMs = Math.max(1, getUint(ctx.params, 'BITTORRENT_POLLING_TIME')) * 1000;
  const { downloadAndExtract } = await import('../transport/bittorrent/download.js');
  const d = await downloadAndExtract(ctx, {
    peer: session.peer,
    meta,
    tracker,
    stagingDir,
    dest: ctx.opts.sysroot,
    serverAddresses: session.serverAddresses,
    phase,
    pollMs: Math.min(pollMs, 1000),
    skip,
    signal: ctx.signal,
    onFigures: (s) => {
      ctx.state.transportInfo = { ...ctx.state.transportInfo, bt_peers: String(s.numPeers), bt_down_kbs: (s.downloadSpeed / 1024).toFixed(0), bt_up_kbs: (s.uploadSpeed / 1024).toFixed(0) };
    },
  });
  ctx.report.info(
    `BitTorrent ${meta.name}: extracted ${d.extracted?.entries ?? 0} entries in ${((Date.now() - started) / 1000).toFixed(1)} s; ${d.tally.fromServer} bytes from the image server, ${d.tally.fromPeers} from other clients; seeding on`,
  );
  return meta.length;
}

/** Lays the image down from `image-NAME.tar.gz.torrent` (else `.tar.torrent`); returns the tarball's size. */
export async function bittorrentImage(ctx: Ctx, image: string): Promise<number> {
  const dir = await fetchTorrents(ctx);
  const name = checkName(image, 'image');
  const file = findTorrent(dir, `image-${name}`);
  if (!file) throw new SiError('E_SERVER', `the ${torrentsSource(ctx)} has no image-${name}.tar.gz.torrent nor image-${name}.tar.torrent`);
  return installTorrent(ctx, file, 'image', imageSkip);
}

/** Applies each override from its torrent, in order; one without a torrent comes over rsync (a warning says so). */
export async function bittorrentOverrides(ctx: Ctx, names: string[]): Promise<{ applied: string[]; missing: string[] }> {
  const dir = await fetchTorrents(ctx);
  const applied: string[] = [];
  const missing: string[] = [];
  for (const raw of names) {
    const name = checkName(raw, 'override');
    const file = findTorrent(dir, `override-${name}`);
    if (file) {
      await installTorrent(ctx, file, undefined);
      applied.push(name);
      continue;
    }
    ctx.report.warn(`override ${name} has no torrent (override-${name}.tar.gz.torrent or .tar.torrent): applied over rsync instead`);
    const r = await applyOverrides(ctx, { ...rsyncEndpoint(ctx), names: [name], dest: ctx.opts.sysroot });
    applied.push(...r.applied);
    missing.push(...r.missing);
  }
  return { applied, missing };
}

/** Where the torrents come from, for messages. */
function torrentsSource(ctx: Ctx): string {
  return isMulticast(ctx) ? `multicast module autoinstall_torrents (portbase ${getPort(ctx.params, 'FLAMETHROWER_DIRECTORY_PORTBASE')})` : 'rsync module torrents';
}
