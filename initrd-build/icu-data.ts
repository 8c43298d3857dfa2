// Trims the ICU data linked into the Node binary to what an English-speaking installer uses (pure parts first).
//
// The official Node binary carries ICU's whole "common data" package (about 33 MB, a third of the compressed
// initrd): every locale's names, collations, converters and dictionaries. The agent only sorts and prints in
// English, so every other locale's resource bundles, the legacy-charset converters, the transliterators and the
// word-break dictionaries are dropped. The package keeps its format (header, table of contents, items), is
// written back over the original at the same address, and the rest of the region becomes zeros, which the
// initrd's compression all but removes. Locales other than English then fall back to ICU's root data.

import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { $sync } from './zx.ts';

/** One item of an ICU common data package (e.g. "icudt78l/coll/root.res"). */
export interface IcuItem {
  name: string;
  /** Offset of the item's bytes from the start of the table of contents. */
  offset: number;
  length: number;
}

export interface IcuPackage {
  headerSize: number;
  items: IcuItem[];
}

/** Item data is aligned like ICU's own packager aligns it. */
const ALIGN = 16;

/** Parses an ICU common data package ("CmnD", offset table of contents), little-endian. */
export function parseIcuPackage(data: Buffer): IcuPackage {
  const headerSize = data.readUInt16LE(0);
  if (data[2] !== 0xda || data[3] !== 0x27) throw new Error('ICU data: no 0xda27 magic');
  if (data[8] !== 0) throw new Error('ICU data: big-endian package not supported');
  const format = data.subarray(12, 16).toString('latin1');
  if (format !== 'CmnD') throw new Error(`ICU data: format ${format}, expected CmnD`);
  const toc = headerSize;
  const count = data.readUInt32LE(toc);
  const entries: { nameOffset: number; offset: number }[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({ nameOffset: data.readUInt32LE(toc + 4 + 8 * i), offset: data.readUInt32LE(toc + 8 + 8 * i) });
  }
  const items = entries.map((e, i) => {
    const nameStart = toc + e.nameOffset;
    const name = data.subarray(nameStart, data.indexOf(0, nameStart)).toString('latin1');
    const end = i + 1 < count ? entries[i + 1].offset : data.length - toc;
    return { name, offset: e.offset, length: end - e.offset };
  });
  return { headerSize, items };
}

/** Writes a package holding only the items keep() accepts, in the original (sorted) order. */
export function subsetIcuPackage(data: Buffer, keep: (name: string) => boolean): { bytes: Buffer; kept: number; dropped: number } {
  const pkg = parseIcuPackage(data);
  const items = pkg.items.filter((it) => keep(it.name));
  const names = items.map((it) => Buffer.from(it.name + '\0', 'latin1'));
  const tocHead = 4 + 8 * items.length;
  const namesBytes = names.reduce((n, b) => n + b.length, 0);
  const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;
  let at = align(tocHead + namesBytes);
  const offsets = items.map((it) => {
    const o = at;
    at = align(at + it.length);
    return o;
  });
  const out = Buffer.alloc(pkg.headerSize + at);
  data.copy(out, 0, 0, pkg.headerSize);
  const toc = pkg.headerSize;
  out.writeUInt32LE(items.length, toc);
  let nameAt = tocHead;
  items.forEach((it, i) => {
    out.writeUInt32LE(nameAt, toc + 4 + 8 * i);
    out.writeUInt32LE(offsets[i], toc + 8 + 8 * i);
    names[i].copy(out, toc + nameAt);
    nameAt += names[i].length;
    data.copy(out, toc + offsets[i], toc + it.offset, toc + it.offset + it.length);
  });
  return { bytes: out, kept: items.length, dropped: pkg.items.length - items.length };
}

/** A locale identifier such as de, zh_Hant_TW, sr_Latn_BA, ca_ES_VALENCIA (not root, pool, res_index...). */
const LOCALE_ID = /^[a-z]{2,3}(_[A-Z][a-z]{3})?(_([A-Z]{2}|\d{3}))?(_[A-Z0-9]{4,8})?$/;

/** What the agent keeps: everything but other languages' bundles, converters, transliterators, dictionaries. */
export function keepForAgent(name: string): boolean {
  const parts = name.split('/');
  const base = parts[parts.length - 1];
  if (parts.includes('translit')) return false;
  if (base.endsWith('.cnv') || base.endsWith('.dict')) return false;
  if (!base.endsWith('.res')) return true;
  const id = base.slice(0, -'.res'.length);
  return !LOCALE_ID.test(id) || id === 'en' || id.startsWith('en_');
}

export interface ElfSegment {
  offset: number;
  vaddr: number;
  filesz: number;
}

/** Parses `readelf -lW` output into its LOAD segments. */
export function parseLoadSegments(readelf: string): ElfSegment[] {
  const segs: ElfSegment[] = [];
  for (const m of readelf.matchAll(/^\s*LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)/gm)) {
    segs.push({ offset: parseInt(m[1], 16), vaddr: parseInt(m[2], 16), filesz: parseInt(m[3], 16) });
  }
  return segs;
}

/** Finds ICU's data symbol (icudtNN_dat) in `nm -S --defined-only` output: its address and size. */
export function findIcuSymbol(nm: string): { name: string; vaddr: number; size: number } | undefined {
  const m = /^([0-9a-f]+) ([0-9a-f]+) [RrDd] (icudt\d+_dat)$/m.exec(nm);
  return m ? { name: m[3], vaddr: parseInt(m[1], 16), size: parseInt(m[2], 16) } : undefined;
}

/** File offset of a virtual address inside one of the LOAD segments. */
export function fileOffsetOf(segs: readonly ElfSegment[], vaddr: number, size: number): number {
  const seg = segs.find((s) => vaddr >= s.vaddr && vaddr + size <= s.vaddr + s.filesz);
  if (!seg) throw new Error(`address 0x${vaddr.toString(16)} is in no LOAD segment`);
  return vaddr - seg.vaddr + seg.offset;
}

export interface IcuTrimResult {
  symbol: string;
  /** Bytes of the data region in the binary (unchanged). */
  regionBytes: number;
  /** Bytes of the trimmed package written at its start (the rest is zeros). */
  keptBytes: number;
  keptItems: number;
  droppedItems: number;
}

/** Trims the ICU data inside a Node binary in place (before strip: it needs the symbol table); undefined if none. */
export function trimNodeIcu(binary: string, keep: (name: string) => boolean = keepForAgent): IcuTrimResult | undefined {
  const sym = findIcuSymbol($sync()`nm -S --defined-only ${binary}`.stdout);
  if (!sym) return undefined;
  const at = fileOffsetOf(parseLoadSegments($sync()`readelf -lW ${binary}`.stdout), sym.vaddr, sym.size);
  const fd = openSync(binary, 'r+');
  try {
    const region = Buffer.alloc(sym.size);
    if (readSync(fd, region, 0, sym.size, at) !== sym.size) throw new Error(`${binary}: short read of ${sym.name}`);
    const sub = subsetIcuPackage(region, keep);
    if (sub.bytes.length > sym.size) throw new Error(`${sym.name}: trimmed package larger than the original`);
    const next = Buffer.alloc(sym.size);
    sub.bytes.copy(next);
    writeSync(fd, next, 0, sym.size, at);
    return { symbol: sym.name, regionBytes: sym.size, keptBytes: sub.bytes.length, keptItems: sub.kept, droppedItems: sub.dropped };
  } finally {
    closeSync(fd);
  }
}
