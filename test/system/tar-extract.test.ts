// System test (root: ext4 on a loop device, foreign owners, device nodes, xattrs/ACLs): the agent's tar extractor against
// GNU tar's own extraction of the same archives made by GNU tar from the fixture image, in each format and compression.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { extractTar } from '../../agent/transport/tar/extract.js';
import { compareTrees } from '../helpers/compare-trees.js';
import { mountExt4Loop, type ScratchFs } from '../helpers/scratch-fs.js';
import { makeCollectingCtx } from '../helpers/transport-ctx.js';
import { buildTar } from '../helpers/tar-build.js';

let work = '';
let info: ImageServerInfo;
let scratch: ScratchFs | undefined;
let src = '';
const archives: Record<string, string> = {};

const sh = (cmd: string, args: string[], cwd?: string) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });

/** A copy of the fixture image with what the fixture lacks: long names, a long link target, a sparse file with many holes. */
function richSource(): string {
  const dir = path.join(work, 'src');
  sh('cp', ['-a', info.imageDir, dir]);
  const long = path.join(dir, 'usr/share', 'a-directory-name-that-is-long'.repeat(3), 'and-a-file-name-that-is-also-long'.repeat(4) + '.txt');
  fs.mkdirSync(path.dirname(long), { recursive: true });
  fs.writeFileSync(long, 'long name\n');
  fs.symlinkSync('../' + 'target-'.repeat(30), path.join(dir, 'usr/lib/long-link'));
  fs.linkSync(long, path.join(dir, 'usr/share/hardlink-to-a-long-name-' + 'x'.repeat(90)));
  // Ten data islands in 40 MiB: more than the four regions an old GNU header holds, so extension blocks follow it.
  const fd = fs.openSync(path.join(dir, 'var/lib/holes.img'), 'w');
  for (let i = 0; i < 10; i++) fs.writeSync(fd, Buffer.alloc(4096, i + 1), 0, 4096, i * 4 * 1024 * 1024 + 8192);
  fs.ftruncateSync(fd, 40 * 1024 * 1024);
  fs.closeSync(fd);
  fs.chmodSync(path.join(dir, 'var/lib/holes.img'), 0o640);
  return dir;
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'si-tar-extract-'));
  info = await makeImageServer(path.join(work, 'server'));
  src = richSource();
  const a = (n: string) => (archives[n] = path.join(work, n));
  // As flamethrowerd casts a module (GNU format, sparse), and as a PAX archive with xattrs and ACLs.
  sh('tar', ['-B', '-S', '-cpf', a('gnu.tar'), '-C', src, '.']);
  sh('tar', ['--xattrs', '--xattrs-include=*', '--acls', '--sparse', '--format=posix', '-cpf', a('posix.tar'), '-C', src, '.']);
  sh('tar', ['--xattrs', '--xattrs-include=*', '--acls', '--sparse', '--format=posix', '--sparse-version=0.1', '-cpf', a('posix01.tar'), '-C', src, '.']);
  sh('tar', ['--xattrs', '--xattrs-include=*', '--acls', '-S', '--format=posix', '-czpf', a('posix.tar.gz'), '-C', src, '.']);
  sh('tar', ['--xattrs', '--xattrs-include=*', '--acls', '-S', '--format=posix', '--zstd', '-cpf', a('posix.tar.zst'), '-C', src, '.']);
  scratch = mountExt4Loop(work, 'fs', 400);
}, 120_000);

afterAll(() => {
  scratch?.cleanup();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** GNU tar's extraction of an archive, the reference. */
function gnuExtract(archive: string, dir: string): void {
  fs.mkdirSync(dir);
  sh('tar', ['--xattrs', '--xattrs-include=*', '--acls', '--numeric-owner', '-xpf', archive, '-C', dir]);
}

async function agentExtract(archive: string, dir: string) {
  const ctx = makeCollectingCtx();
  return await extractTar(ctx, fs.createReadStream(archive, { highWaterMark: 256 * 1024 }), dir);
}

const sha256 = (f: string) => execFileSync('sha256sum', [f], { encoding: 'utf8' }).split(' ')[0];

describe('extractTar matches GNU tar', () => {
  for (const kind of ['gnu.tar', 'posix.tar', 'posix01.tar', 'posix.tar.gz', 'posix.tar.zst']) {
    it(`${kind}: same tree as tar -xp (content, owners, modes, mtimes, links, devices, xattrs, ACLs, holes)`, async () => {
      const base = path.join(scratch!.dir, kind.replace(/\W/g, '-'));
      gnuExtract(archives[kind]!, base + '-gnu');
      const r = await agentExtract(archives[kind]!, base + '-agent');
      expect(await compareTrees(base + '-gnu', base + '-agent')).toEqual([]);
      // And the source itself (the archive kept everything the format can hold).
      const lost = kind === 'gnu.tar' ? ['etc/xattr-file', 'etc/acl-file'] : [];
      const diffs = (await compareTrees(src, base + '-agent')).filter((d) => !lost.some((l) => d.startsWith(l + ': ')));
      expect(diffs).toEqual([]);
      expect(r.sha256).toBe(sha256(archives[kind]!));
      expect(r.bytes).toBe(fs.statSync(archives[kind]!).size);
      expect(r.compression).toBe(kind.endsWith('.gz') ? 'gzip' : kind.endsWith('.zst') ? 'zstd' : 'none');
      expect(r.entries).toBeGreaterThan(50);
      const holes = fs.statSync(path.join(base + '-agent', 'var/lib/holes.img'));
      expect(holes.size).toBe(40 * 1024 * 1024);
      expect(holes.blocks * 512).toBeLessThan(2 * 1024 * 1024);
      fs.rmSync(base + '-gnu', { recursive: true });
      if (kind !== 'gnu.tar') fs.rmSync(base + '-agent', { recursive: true });
    }, 120_000);
  }

  it('extracting again over the tree (a retried cast) keeps setuid/setgid bits and changes nothing', async () => {
    const dir = path.join(scratch!.dir, 'gnu-tar-agent');
    fs.writeFileSync(path.join(dir, 'bin/suid-tool'), 'half written');
    await agentExtract(archives['gnu.tar']!, dir);
    expect(fs.statSync(path.join(dir, 'bin/suid-tool')).mode & 0o7777).toBe(0o4755);
    expect(fs.statSync(path.join(dir, 'bin/sgid-tool')).mode & 0o7777).toBe(0o2711);
    const diffs = await compareTrees(src, dir);
    expect(diffs.filter((d) => !/^etc\/(xattr|acl)-file: /.test(d))).toEqual([]);
  }, 120_000);

  it('reports a sha256 mismatch against a published digest as an error', async () => {
    const dir = path.join(scratch!.dir, 'digest');
    const ctx = makeCollectingCtx();
    await expect(extractTar(ctx, fs.createReadStream(archives['gnu.tar']!), dir, { expectSha256: 'ab'.repeat(32) })).rejects.toThrow(
      /sha256 of the received stream is [0-9a-f]{64}, the server published (ab){32}/,
    );
    const ok = await extractTar(ctx, fs.createReadStream(archives['gnu.tar']!), dir, { expectSha256: sha256(archives['gnu.tar']!)!.toUpperCase() });
    expect(ok.entries).toBeGreaterThan(50);
  }, 60_000);

  it('hashStream false: no sha256 taken (the result says \'\'), the same tree; a published digest is still checked', async () => {
    for (const kind of ['posix.tar', 'posix.tar.gz']) {
      const base = path.join(scratch!.dir, `nohash-${kind}`.replace(/\W/g, '-'));
      gnuExtract(archives[kind]!, base + '-gnu');
      const r = await extractTar(makeCollectingCtx(), fs.createReadStream(archives[kind]!), base + '-agent', { hashStream: false });
      expect(r.sha256).toBe('');
      expect(r.bytes).toBe(fs.statSync(archives[kind]!).size);
      expect(await compareTrees(base + '-gnu', base + '-agent')).toEqual([]);
      fs.rmSync(base + '-gnu', { recursive: true });
      fs.rmSync(base + '-agent', { recursive: true });
    }
    const dir = path.join(scratch!.dir, 'nohash-digest');
    await expect(extractTar(makeCollectingCtx(), fs.createReadStream(archives['gnu.tar']!), dir, { hashStream: false, expectSha256: 'cd'.repeat(32) })).rejects.toThrow(/the server published (cd){32}/);
  }, 120_000);

  it('thousands of small entries (written in batches by worker threads) match GNU tar', async () => {
    const many = path.join(work, 'many');
    for (let d = 0; d < 30; d++) {
      const dir = path.join(many, `d${d}`, `sub${d % 3}`);
      fs.mkdirSync(dir, { recursive: true });
      for (let f = 0; f < 50; f++) {
        const file = path.join(dir, `f${f}`);
        fs.writeFileSync(file, `file ${d}/${f}\n`.repeat(f));
        if (f % 7 === 0) fs.chownSync(file, 1000 + f, 2000 + d);
        if (f % 11 === 0) fs.chmodSync(file, 0o4750);
        if (f % 5 === 0) fs.symlinkSync(`f${f}`, path.join(dir, `l${f}`));
        fs.utimesSync(file, 1_500_000_000 + f, 1_500_000_000 + f);
      }
      fs.chmodSync(path.join(many, `d${d}`), 0o2751);
    }
    const archive = path.join(work, 'many.tar');
    sh('tar', ['--format=posix', '-cpf', archive, '-C', many, '.']);
    const base = path.join(scratch!.dir, 'many');
    gnuExtract(archive, base + '-gnu');
    const r = await agentExtract(archive, base + '-agent');
    expect(r.entries).toBeGreaterThan(1500);
    expect(await compareTrees(base + '-gnu', base + '-agent')).toEqual([]);
  }, 120_000);

  it('keeps memory bounded: a small byte budget still extracts a large file exactly', async () => {
    const dir = path.join(scratch!.dir, 'budget');
    const ctx = makeCollectingCtx();
    await extractTar(ctx, Readable.from(fs.createReadStream(archives['gnu.tar']!)), dir, { limits: { bytes: 64 * 1024, tasks: 2 } });
    expect(sha256(path.join(dir, 'var/lib/big.bin'))).toBe(sha256(path.join(src, 'var/lib/big.bin')));
  }, 60_000);
});

describe('extractTar: the writer ring, the main-thread writer, the skip filter and the abort signal', () => {
  for (const [name, opts] of [
    ['a 64 KiB ring (records wrap, whole files cut across chunks, 16 KiB stream pieces)', { limits: { bytes: 64 * 1024 } }],
    ['no writer thread (every record applied by the main thread)', { workers: 0 }],
    ['no writer thread and a 64 KiB ring', { workers: 0, limits: { bytes: 64 * 1024 } }],
  ] as const) {
    it(`${name}: the same tree as GNU tar, the same sha256`, async () => {
      for (const kind of ['posix.tar', 'posix.tar.gz']) {
        const base = path.join(scratch!.dir, `ring-${kind}-${name.length}-${Object.keys(opts).join('')}`.replace(/\W/g, '-'));
        gnuExtract(archives[kind]!, base + '-gnu');
        // Odd-sized chunks: headers, whole files and pieces are cut at every kind of place.
        const r = await extractTar(makeCollectingCtx(), fs.createReadStream(archives[kind]!, { highWaterMark: 7777 }), base + '-agent', opts);
        expect(await compareTrees(base + '-gnu', base + '-agent')).toEqual([]);
        expect(r.sha256).toBe(sha256(archives[kind]!));
        fs.rmSync(base + '-gnu', { recursive: true });
        fs.rmSync(base + '-agent', { recursive: true });
      }
    }, 120_000);
  }

  it('leaves out what the skip filter names, reading past its data', async () => {
    const dir = path.join(scratch!.dir, 'skip');
    const seen: string[] = [];
    const r = await extractTar(makeCollectingCtx(), fs.createReadStream(archives['gnu.tar']!), dir, {
      skip: (rel) => {
        seen.push(rel);
        return rel === 'var/lib/big.bin' || rel === 'etc' || rel.startsWith('etc/');
      },
    });
    expect(seen).toContain('var/lib/big.bin');
    expect(fs.existsSync(path.join(dir, 'var/lib/big.bin'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'etc'))).toBe(false);
    expect(fs.statSync(path.join(dir, 'var/lib/holes.img')).size).toBe(40 * 1024 * 1024);
    expect(r.sha256).toBe(sha256(archives['gnu.tar']!));
  }, 60_000);

  it('reads a plain tar file itself (straight into the ring); a file cut short is a truncated archive; abort stops it', async () => {
    const dir = path.join(scratch!.dir, 'file-cut');
    const cut = path.join(work, 'cut.tar');
    fs.writeFileSync(cut, fs.readFileSync(archives['gnu.tar']!).subarray(0, 3 * 1024 * 1024 + 100));
    const seen: number[] = [];
    await expect(extractTar(makeCollectingCtx(), fs.createReadStream(cut, { highWaterMark: 100_000 }), dir, { onBytes: (n) => seen.push(n) })).rejects.toThrow(/truncated archive: the stream ended at byte 3145828 in the data of /);
    expect(seen.slice(0, 2)).toEqual([100_000, 200_000]);
    expect(seen.at(-1)).toBe(3 * 1024 * 1024 + 100);
    const ac = new AbortController();
    const r = extractTar(makeCollectingCtx(), fs.createReadStream(archives['gnu.tar']!, { highWaterMark: 64 * 1024 }), path.join(scratch!.dir, 'file-abort'), {
      signal: ac.signal,
      onBytes: (n) => n >= 3 * 64 * 1024 && ac.abort(),
    });
    await expect(r).rejects.toThrow(/extraction aborted/);
  }, 60_000);

  it('a FIFO given as a file stream is read through the stream', async () => {
    const fifo = path.join(work, 'in.fifo');
    sh('mkfifo', [fifo]);
    const feeder = fs.createReadStream(archives['posix.tar']!).pipe(fs.createWriteStream(fifo));
    const fed = new Promise<void>((ok) => feeder.on('close', () => ok()));
    const r = await extractTar(makeCollectingCtx(), fs.createReadStream(fifo), path.join(scratch!.dir, 'fifo'));
    expect(r.sha256).toBe(sha256(archives['posix.tar']!));
    expect(r.bytes).toBe(fs.statSync(archives['posix.tar']!).size);
    await fed;
  }, 60_000);

  it('stops on the abort signal with an error', async () => {
    const dir = path.join(scratch!.dir, 'abort');
    const ac = new AbortController();
    const stream = fs.createReadStream(archives['gnu.tar']!, { highWaterMark: 64 * 1024 });
    let n = 0;
    stream.on('data', () => {
      if (++n === 3) ac.abort();
    });
    await expect(extractTar(makeCollectingCtx(), stream, dir, { signal: ac.signal })).rejects.toThrow(/extraction aborted/);
  }, 60_000);
});

describe('extractTar refuses hostile and broken archives, writing nothing outside the target', () => {
  let outside = '';
  let n = 0;
  const listing = (d: string) => execFileSync('find', [d, '-printf', '%p %y %s\\n'], { encoding: 'utf8' }).split('\n').sort().join('\n');

  beforeAll(() => {
    outside = path.join(scratch!.dir, 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'secret'), 'secret\n');
  });

  async function refuse(archive: Buffer, message: RegExp): Promise<string> {
    const dir = path.join(scratch!.dir, 'hostile', `t${n++}`);
    fs.mkdirSync(dir, { recursive: true });
    const before = listing(outside);
    const beside = fs.readdirSync(path.dirname(dir)).sort();
    let error = '';
    try {
      await extractTar(makeCollectingCtx(), Readable.from([archive]), dir);
    } catch (e) {
      error = (e as Error).message;
    }
    expect(error).toMatch(message);
    expect(listing(outside)).toBe(before);
    expect(fs.readdirSync(path.dirname(dir)).sort()).toEqual(beside);
    expect(fs.readdirSync(scratch!.dir).filter((f) => /pwned|escape/.test(f))).toEqual([]);
    return dir;
  }

  it('../ in a path', async () => {
    await refuse(buildTar([{ name: 'ok.txt', data: 'ok' }, { name: 'a/../../escape.txt', data: 'x' }]), /tar entry "a\/\.\.\/\.\.\/escape\.txt": path .* contains "\.\."/);
  });
  it('an absolute path', async () => {
    await refuse(buildTar([{ name: `${outside}/pwned`, data: 'x' }]), new RegExp(`tar entry "${outside}/pwned": absolute path`));
  });
  it('a PAX path with ../', async () => {
    await refuse(buildTar([{ name: 'harmless', data: 'x', pax: { path: '../pax-escape' } }]), /tar entry "\.\.\/pax-escape": path/);
  });
  it('a symlink to outside, then a write through it', async () => {
    const dir = await refuse(buildTar([{ name: 'link', type: 'symlink', linkname: outside }, { name: 'link/pwned', data: 'x' }]), /tar entry "link\/pwned": its path goes through the symlink "link"/);
    expect(fs.readlinkSync(path.join(dir, 'link'))).toBe(outside);
  });
  it('a relative symlink up (..), then a write through it', async () => {
    await refuse(buildTar([{ name: 'd', type: 'dir' }, { name: 'd/up', type: 'symlink', linkname: '../..' }, { name: 'd/up/pwned', data: 'x' }]), /tar entry "d\/up\/pwned": its path goes through the symlink "d\/up"/);
  });
  it('a hard link to outside (relative and absolute)', async () => {
    await refuse(buildTar([{ name: 'hl', type: 'hardlink', linkname: '../outside/secret' }]), /tar entry "hl": hard link target .* contains "\.\."/);
    await refuse(buildTar([{ name: 'hl', type: 'hardlink', linkname: `${outside}/secret` }]), /tar entry "hl": absolute hard link target/);
  });
  it('a hard link whose target goes through an archive symlink', async () => {
    await refuse(buildTar([{ name: 'out', type: 'symlink', linkname: outside }, { name: 'hl', type: 'hardlink', linkname: 'out/secret' }]), /tar entry "hl": its path goes through the symlink "out"/);
  });
  it('a stream cut in the middle of a file', async () => {
    const whole = fs.readFileSync(archives['gnu.tar']!);
    await refuse(whole.subarray(0, 3 * 1024 * 1024 + 100), /truncated archive: the stream ended at byte 3145828 in the data of /);
  });
  it('a stream cut between entries, before the end-of-archive marker', async () => {
    const t = buildTar([{ name: 'a', data: 'a' }, { name: 'b', data: 'b' }]);
    await refuse(t.subarray(0, t.length - 1024), /truncated archive: .* before the end-of-archive marker/);
  });
  it('garbage', async () => {
    const junk = Buffer.alloc(20_000);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919 + 13) % 251;
    await refuse(junk, /corrupt or not a tar archive: bad header checksum at byte 0/);
  });
  it('a corrupt header in the middle', async () => {
    const t = buildTar([{ name: 'a', data: 'a' }, { name: 'b', data: 'b' }]);
    t[1024 + 10] ^= 0xff;
    await refuse(t, /bad header checksum at byte 1024/);
  });
  it('a cut gzip stream, and an empty one', async () => {
    const gz = fs.readFileSync(archives['posix.tar.gz']!);
    await refuse(gz.subarray(0, Math.floor(gz.length / 2)), /unexpected end of file|truncated/);
    await refuse(Buffer.alloc(0), /empty stream/);
  });
  it('a cut zstd stream', async () => {
    const z = fs.readFileSync(archives['posix.tar.zst']!);
    await refuse(z.subarray(0, Math.floor(z.length / 2)), /zstd failed|truncated/);
  });
});
