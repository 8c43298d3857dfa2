// What keeps the initrd small (issue 13): the ICU data trimmed inside the agent executable, and the initrd split
// into archives compressed and cached separately. Pure cases on made-up data, then the real executable (no QEMU):
// it must still sort, format and normalize text the way the agent does.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeCompression, splitCpioArchives } from '../../initrd-build/cpio.ts';
import { fileOffsetOf, findIcuSymbol, keepForAgent, parseIcuPackage, parseLoadSegments, subsetIcuPackage } from '../../initrd-build/icu-data.ts';
import { planArchives } from '../../initrd-build/initrd.ts';
import { buildSea } from '../../initrd-build/sea.ts';
import { $sync } from '../../initrd-build/zx.ts';
import { PROJECT_DIR } from './package-fixture.ts';

/** A little-endian ICU common data package holding these items (16-byte aligned), as ICU's packager lays it out. */
function makePackage(items: [string, Buffer][]): Buffer {
  const header = Buffer.alloc(32);
  header.writeUInt16LE(32, 0);
  header[2] = 0xda;
  header[3] = 0x27;
  header.write('CmnD', 12, 'latin1');
  const names = items.map(([n]) => Buffer.from(n + '\0', 'latin1'));
  const align = (n: number) => Math.ceil(n / 16) * 16;
  let at = align(4 + 8 * items.length + names.reduce((n, b) => n + b.length, 0));
  const toc = Buffer.alloc(at);
  toc.writeUInt32LE(items.length, 0);
  let nameAt = 4 + 8 * items.length;
  const datas: Buffer[] = [];
  items.forEach(([, data], i) => {
    toc.writeUInt32LE(nameAt, 4 + 8 * i);
    toc.writeUInt32LE(at, 8 + 8 * i);
    names[i].copy(toc, nameAt);
    nameAt += names[i].length;
    const padded = Buffer.alloc(align(data.length));
    data.copy(padded);
    datas.push(padded);
    at += padded.length;
  });
  return Buffer.concat([header, toc, ...datas]);
}

/** One newc entry (regular file or the trailer), padded as cpio pads it. */
function newcEntry(name: string, data: Buffer): Buffer {
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  const fields = [1, 0o100644, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length + 1, 0];
  const head = Buffer.from('070701' + fields.map(hex).join('') + name + '\0', 'latin1');
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  return Buffer.concat([pad(head), pad(data)]);
}

describe('ICU data trimming (pure)', () => {
  const items: [string, Buffer][] = [
    ['icudt78l/coll/de.res', Buffer.from('de collation')],
    ['icudt78l/coll/root.res', Buffer.from('root collation')],
    ['icudt78l/coll/ucadata.icu', Buffer.from('uca')],
    ['icudt78l/de.res', Buffer.from('german')],
    ['icudt78l/en.res', Buffer.from('english')],
    ['icudt78l/en_GB.res', Buffer.from('british')],
    ['icudt78l/ibm-1047_P100-1995.cnv', Buffer.from('ebcdic')],
    ['icudt78l/res_index.res', Buffer.from('index')],
    ['icudt78l/translit/root.res', Buffer.from('translit')],
    ['icudt78l/brkitr/cjdict.dict', Buffer.from('dictionary')],
    ['icudt78l/zh_Hant_TW.res', Buffer.from('taiwan')],
  ];
  const pkg = makePackage(items);

  it('reads the table of contents of a package', () => {
    const parsed = parseIcuPackage(pkg);
    expect(parsed.items.map((i) => i.name)).toEqual(items.map(([n]) => n));
    const en = parsed.items.find((i) => i.name === 'icudt78l/en.res')!;
    expect(pkg.subarray(parsed.headerSize + en.offset, parsed.headerSize + en.offset + 7).toString()).toBe('english');
  });

  it('keeps English, root, indexes and structural data; drops other locales, converters, transliterators, dictionaries', () => {
    const kept = items.map(([n]) => n).filter(keepForAgent);
    expect(kept).toEqual([
      'icudt78l/coll/root.res',
      'icudt78l/coll/ucadata.icu',
      'icudt78l/en.res',
      'icudt78l/en_GB.res',
      'icudt78l/res_index.res',
    ]);
  });

  it('writes a smaller package whose items read back unchanged', () => {
    const sub = subsetIcuPackage(pkg, keepForAgent);
    expect(sub).toMatchObject({ kept: 5, dropped: 6 });
    expect(sub.bytes.length).toBeLessThan(pkg.length);
    const parsed = parseIcuPackage(sub.bytes);
    const read = (name: string) => {
      const it = parsed.items.find((i) => i.name === name)!;
      return sub.bytes.subarray(parsed.headerSize + it.offset, parsed.headerSize + it.offset + it.length).toString().replace(/\0+$/, '');
    };
    expect(read('icudt78l/coll/root.res')).toBe('root collation');
    expect(read('icudt78l/en_GB.res')).toBe('british');
    expect(parsed.items.every((i) => i.offset % 16 === 0)).toBe(true);
  });

  it('refuses data that is not an ICU common data package', () => {
    expect(() => parseIcuPackage(Buffer.alloc(64))).toThrow(/magic/);
  });

  it('finds the data symbol and its place in the file from nm and readelf output', () => {
    const nm = '0000000000e3a000 0000000000000010 T main\n00000000046c4c10 0000000001f92680 R icudt78_dat\n';
    expect(findIcuSymbol(nm)).toEqual({ name: 'icudt78_dat', vaddr: 0x46c4c10, size: 0x1f92680 });
    expect(findIcuSymbol('0000000000e3a000 0000000000000010 T main\n')).toBeUndefined();
    const readelf = [
      '  LOAD           0x000000 0x0000000000400000 0x0000000000400000 0xa36848 0xa36848 R   0x1000',
      '  LOAD           0x3001000 0x0000000003401000 0x0000000003401000 0x370f448 0x370f448 R   0x1000',
    ].join('\n');
    const segs = parseLoadSegments(readelf);
    expect(segs).toHaveLength(2);
    expect(fileOffsetOf(segs, 0x46c4c10, 0x1f92680)).toBe(0x42c4c10);
    expect(() => fileOffsetOf(segs, 0x100, 4)).toThrow(/no LOAD segment/);
  });
});

describe('initrd archives (pure)', () => {
  it('puts /usr (but the agent link) in the system archive, /init alone in the agent one, the rest last', () => {
    const paths = ['.', 'bin', 'etc', 'etc/passwd', 'init', 'local.cfg', 'usr', 'usr/bin', 'usr/bin/busybox', 'usr/bin/si-agent', 'usr/lib'];
    const plans = planArchives(paths, {});
    expect(plans.map((p) => [p.name, p.paths, describeCompression(p.compression), p.cache === true])).toEqual([
      ['system', ['usr', 'usr/bin', 'usr/bin/busybox', 'usr/lib'], 'zstd -19', true],
      ['agent', ['init'], 'zstd -19 --zstd=wlog=22', true],
      ['site', ['.', 'bin', 'etc', 'etc/passwd', 'local.cfg', 'usr/bin/si-agent'], 'zstd -10', false],
    ]);
    expect(planArchives(paths, { xz: true }).map((p) => [p.name, p.paths.length, describeCompression(p.compression)])).toEqual([
      ['initrd', paths.length, 'xz -9e'],
    ]);
  });

  it('splits concatenated newc archives at their trailers, skipping the zero padding between them', () => {
    const a = Buffer.concat([newcEntry('init', Buffer.from('agent!')), newcEntry('TRAILER!!!', Buffer.alloc(0))]);
    const b = Buffer.concat([newcEntry('etc/hostname', Buffer.from('x')), newcEntry('TRAILER!!!', Buffer.alloc(0))]);
    const parts = splitCpioArchives(Buffer.concat([a, Buffer.alloc(512 - (a.length % 512)), b, Buffer.alloc(64)]));
    expect(parts.map((p) => p.toString('latin1').includes('agent!'))).toEqual([true, false]);
    expect(parts[0]).toEqual(a);
    expect(parts[1]).toEqual(b);
  });
});

describe('the agent executable with trimmed ICU data', () => {
  it('sorts, formats and normalizes the way the agent does', () => {
    const sea = buildSea({ projectDir: PROJECT_DIR });
    expect(sea.icu?.keptBytes).toBeLessThan(sea.icu!.regionBytes / 4);
    const dir = mkdtempSync(join(tmpdir(), 'si-icu-test.'));
    try {
      // The executable runs the agent, not a script; --require through NODE_OPTIONS runs these checks first.
      const check = join(dir, 'check.cjs');
      writeFileSync(
        check,
        `const out = {
          names: ['eth10', 'eth2', 'eth1'].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })),
          keys: ['b', 'B', 'a10', 'a2'].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })),
          date: new Date(0).toString(),
          number: (1234567.5).toLocaleString(),
          nfd: 'é'.normalize('NFD').length,
          nfkc: '\\ufb01'.normalize('NFKC'),
          utf16: new TextDecoder('utf-16be').decode(Buffer.from([0, 65])),
          host: new URL('http://bücher.example').host,
          words: [...new Intl.Segmenter('en', { granularity: 'word' }).segment('two words')].filter((s) => s.isWordLike).length,
        };
        require('fs').writeFileSync(${JSON.stringify(join(dir, 'out.json'))}, JSON.stringify(out));\n`,
      );
      $sync({ env: { ...process.env, TZ: 'UTC', NODE_OPTIONS: `--require ${check}` } })`${sea.path} version`;
      const out = JSON.parse($sync()`cat ${join(dir, 'out.json')}`.stdout) as Record<string, unknown>;
      expect(out).toEqual({
        names: ['eth1', 'eth2', 'eth10'],
        keys: ['a2', 'a10', 'b', 'B'],
        date: 'Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)',
        number: '1,234,567.5',
        nfd: 2,
        nfkc: 'fi',
        utf16: 'A',
        host: 'xn--bcher-kva.example',
        words: 2,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
