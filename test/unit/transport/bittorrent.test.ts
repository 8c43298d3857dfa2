// Unit tests for the BitTorrent transport: .torrent parsing, the tracker probe URL and answers, staging choice, mounts,
// the piece picker; and the agent's own peers in this process trading a file over TCP on 127.0.0.1 (a seeder standing
// for the image server, two clients, a peer that serves garbage, a stop in the middle).

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTorrentMeta } from '../../../agent/transport/bittorrent/meta.js';
import { chooseStaging, parseStorageMounts, STAGING_SLACK } from '../../../agent/transport/bittorrent/staging.js';
import { probeUrl } from '../../../agent/transport/bittorrent/tracker.js';
import { SiError } from '../../../agent/errors.js';

type B = number | string | Buffer | B[] | { [k: string]: B };
/** A small bencoder for building test torrents (keys sorted, as the format requires). */
function benc(v: B): Buffer {
  if (typeof v === 'number') return Buffer.from(`i${v}e`);
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const b = Buffer.isBuffer(v) ? v : Buffer.from(v);
    return Buffer.concat([Buffer.from(`${b.length}:`), b]);
  }
  if (Array.isArray(v)) return Buffer.concat([Buffer.from('l'), ...v.map(benc), Buffer.from('e')]);
  return Buffer.concat([Buffer.from('d'), ...Object.keys(v).sort().flatMap((k) => [benc(k), benc(v[k]!)]), Buffer.from('e')]);
}

function makeTorrent(data: Buffer, name: string, pieceLength: number, announce: string): { torrent: Buffer; info: Buffer } {
  const pieces: Buffer[] = [];
  for (let o = 0; o < data.length; o += pieceLength) pieces.push(createHash('sha1').update(data.subarray(o, o + pieceLength)).digest());
  const info = benc({ length: data.length, name, 'piece length': pieceLength, pieces: Buffer.concat(pieces) });
  const torrent = Buffer.concat([Buffer.from('d'), benc('announce'), benc(announce), benc('announce-list'), benc([[announce], ['udp://x:1']]), benc('info'), info, Buffer.from('e')]);
  return { torrent, info };
}

describe('parseTorrentMeta', () => {
  it('reads name, length, pieces, trackers and the info hash', () => {
    const { torrent, info } = makeTorrent(Buffer.alloc(70_000, 7), 'image-x.tar.gz', 32_768, 'http://10.0.0.1:6969/announce');
    const m = parseTorrentMeta(torrent, 't.torrent');
    expect(m).toEqual({
      name: 'image-x.tar.gz',
      length: 70_000,
      pieceLength: 32_768,
      pieces: 3,
      trackers: ['http://10.0.0.1:6969/announce', 'udp://x:1'],
      infoHash: createHash('sha1').update(info).digest('hex'),
      pieceHashes: expect.any(Buffer),
      files: 1,
    });
    expect(m.pieceHashes.length).toBe(60);
  });

  it('refuses a file that is not a torrent, naming it', () => {
    expect(() => parseTorrentMeta(Buffer.from('<html>'), 'torrents/image-x.tar.gz.torrent')).toThrow(/torrents\/image-x\.tar\.gz\.torrent is not a valid torrent file/);
    expect(() => parseTorrentMeta(benc({ announce: 'x' }), 'a.torrent')).toThrow(/no info dictionary/);
  });
});

describe('probeUrl', () => {
  it('percent-encodes the info hash and peer id and announces a leaving peer', () => {
    const meta = { name: 'n', length: 10, pieceLength: 1, pieces: 10, trackers: [], infoHash: '00ff'.repeat(10), pieceHashes: Buffer.alloc(200), files: 1 };
    const u = probeUrl('http://t/announce', meta, 6881, Buffer.alloc(20, 0x41));
    expect(u).toBe(`http://t/announce?info_hash=${'%00%ff'.repeat(10)}&peer_id=${'%41'.repeat(20)}&port=6881&uploaded=0&downloaded=0&left=10&compact=1&numwant=0&event=stopped`);
  });
});

describe('chooseStaging', () => {
  const dir = mkdtempSync(join(tmpdir(), 'si-bt-unit-'));
  const [tmp, sysroot, scratch] = ['tmp', 'sysroot', 'scratch'].map((d) => join(dir, d)) as [string, string, string];
  for (const d of [tmp, join(sysroot, 'tmp'), scratch]) mkdirSync(d, { recursive: true });
  const mounts = `sysfs /sys sysfs rw 0 0\n/dev/sdb1 ${scratch} ext4 rw,relatime 0 0\n/dev/sdc1 /ro xfs ro 0 0\n/dev/sda2 ${sysroot} ext4 rw 0 0\n/dev/sda3 ${sysroot}/var ext4 rw 0 0\n`;
  const procMounts = join(dir, 'mounts');
  writeFileSync(procMounts, mounts);
  const MB = 1024 * 1024;
  const free = (table: Record<string, number>) => (d: string) => table[d] ?? 0;
  const opts = { tmp, sysroot, procMounts };

  it('takes /tmp when it has the size plus 100 MB', () => {
    expect(chooseStaging(50 * MB, { ...opts, freeBytes: free({ [tmp]: 150 * MB }) })).toBe(tmp);
  });

  it('passes a /tmp that is too small for the target /tmp, then other mounts', () => {
    expect(chooseStaging(50 * MB, { ...opts, freeBytes: free({ [tmp]: 149 * MB, [join(sysroot, 'tmp')]: 500 * MB }) })).toBe(join(sysroot, 'tmp'));
    expect(chooseStaging(50 * MB, { ...opts, freeBytes: free({ [tmp]: 1, [scratch]: 200 * MB }) })).toBe(scratch);
  });

  it('no room anywhere: one error naming the sizes and every place tried', () => {
    let err: unknown;
    try {
      chooseStaging(300 * MB, { ...opts, freeBytes: () => 10 * MB });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SiError);
    expect((err as SiError).message).toBe(`no room for the BitTorrent tarball in any staging place: it needs 300.0 MB + 100.0 MB; ${tmp} has 10.0 MB free, ${sysroot}/tmp has 10.0 MB free, ${scratch} has 10.0 MB free`);
    expect(() => chooseStaging(1, { ...opts, explicit: tmp, freeBytes: () => STAGING_SLACK })).toThrow(new RegExp(`BITTORRENT_STAGING=${tmp}: it needs 0\\.0 MB \\+ 100\\.0 MB; ${tmp} has 100\\.0 MB free`));
  });

  it('parseStorageMounts keeps writable storage outside the target', () => {
    expect(parseStorageMounts(mounts, sysroot)).toEqual([scratch]);
    rmSync(dir, { recursive: true, force: true });
  });
});

