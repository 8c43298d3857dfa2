// The streaming tar parser: any cut of the stream gives the same entries and data, and it keeps no reference to a chunk
// after feed() returns (the extractor parses in a ring of shared memory that is reused once a chunk is parsed).

import { describe, expect, it } from 'vitest';
import { TarParser, type TarEvent } from '../../../agent/transport/tar/parse.js';
import { buildTar } from '../../helpers/tar-build.js';

/** Feeds the archive in pieces of `size` through one reused buffer, overwritten with junk after each feed. */
function parseThroughReusedBuffer(tar: Buffer, size: number): Array<{ path: string; data: string }> {
  const p = new TarParser();
  const out: Array<{ path: string; data: Buffer[] }> = [];
  const slot = Buffer.alloc(size);
  for (let off = 0; off < tar.length; off += size) {
    const n = tar.copy(slot, 0, off, off + size);
    const evs: TarEvent[] = p.feed(slot.subarray(0, n));
    for (const ev of evs) {
      if (ev.kind === 'entry') out.push({ path: ev.entry.path, data: [] });
      // Data events are views of the chunk: used (copied) before the next feed.
      else if (ev.kind === 'data') out.at(-1)!.data.push(Buffer.from(ev.buf));
    }
    slot.fill(0xa5);
  }
  p.end();
  return out.map((e) => ({ path: e.path, data: Buffer.concat(e.data).toString() }));
}

describe('TarParser', () => {
  const long = 'd/' + 'x'.repeat(150);
  const tar = buildTar([
    { name: 'a.txt', data: 'alpha' },
    { name: 'dir', type: 'dir' },
    { name: 'dir/b.txt', data: 'b'.repeat(1500) },
    { name: 'paxed', data: 'pax data', pax: { path: long, 'SCHILY.xattr.user.k': 'v'.repeat(700) } },
    { name: 'z', data: '' },
  ]);
  const want = parseThroughReusedBuffer(tar, tar.length);

  it('reads entries and data whole', () => {
    expect(want.map((e) => e.path)).toEqual(['a.txt', 'dir', 'dir/b.txt', long, 'z']);
    expect(want[2]!.data).toBe('b'.repeat(1500));
    expect(want[3]!.data).toBe('pax data');
  });

  for (const size of [1, 7, 100, 511, 512, 513, 1000, 4096]) {
    it(`gives the same result fed ${size} bytes at a time through a buffer reused after each feed`, () => {
      expect(parseThroughReusedBuffer(tar, size)).toEqual(want);
    });
  }
});

describe('header checksum', () => {
  it('takes the unsigned sum, the signed sum of old tars, and refuses any other', async () => {
    const { decodeHeader } = await import('../../../agent/transport/tar/header.js');
    const t = buildTar([{ name: 'caf\u00e9-\u00fc', data: 'x' }]);
    const h = Buffer.from(t.subarray(0, 512));
    let unsigned = 8 * 0x20;
    let signed = 8 * 0x20;
    for (let i = 0; i < 512; i++) {
      if (i >= 148 && i < 156) continue;
      unsigned += h[i]!;
      signed += h[i]! > 127 ? h[i]! - 256 : h[i]!;
    }
    expect(signed).not.toBe(unsigned);
    const withSum = (n: number) => {
      const b = Buffer.from(h);
      b.write(n.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
      return b;
    };
    expect(decodeHeader(withSum(unsigned), 0).name).toBe('caf\u00e9-\u00fc');
    expect(decodeHeader(withSum(signed), 0).name).toBe('caf\u00e9-\u00fc');
    expect(() => decodeHeader(withSum(unsigned + 1), 1024)).toThrow(/bad header checksum at byte 1024/);
  });
});
