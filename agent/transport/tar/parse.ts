// A streaming tar parser: bytes in, entries and positioned data out; GNU long names, PAX, GNU and PAX sparse.

import { BLOCK, TarError, decodeHeader, isZeroBlock, parsePax, sparsePairs, type RawHeader } from './header.js';
import { buildEntry, readSparse10Map, type TarEntry } from './entry.js';

export type { TarEntry } from './entry.js';

export type TarEvent =
  | { kind: 'entry'; entry: TarEntry }
  /** File data to write at `pos` of the entry's file (sparse data lands between holes). */
  | { kind: 'data'; buf: Buffer; pos: number }
  | { kind: 'entry-end' }
  | { kind: 'eof' };

type State = 'header' | 'meta' | 'sparse-ext' | 'sparse-map' | 'data' | 'pad' | 'done';

/**
 * Parses a tar stream chunk by chunk; each feed() returns what the chunk completed. Never buffers file data, and keeps no
 * reference to a chunk after feed() returns (data events are views of it, to be used before the next feed).
 */
export class TarParser {
  private state: State = 'header';
  private held: Buffer[] = [];
  private heldLen = 0;
  private need = BLOCK;
  private offset = 0;
  private blockStart = 0;
  private header: RawHeader | null = null;
  private metaType = '';
  private longName: string | null = null;
  private longLink: string | null = null;
  private pax: Array<[string, Buffer]> = [];
  private globalPax: Array<[string, Buffer]> = [];
  private regions: Array<[number, number]> = [];
  private region = 0;
  private inRegion = 0;
  private dataLeft = 0;
  private mapBuf: Buffer | null = null;
  private current: TarEntry | null = null;
  private out: TarEvent[] = [];

  /** Bytes consumed so far. */
  get position(): number {
    return this.offset;
  }

  /** Feeds one chunk; returns the events it completed, in order. */
  feed(chunk: Buffer): TarEvent[] {
    this.out = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.state === 'done') {
        pos = chunk.length;
        break;
      }
      if (this.state === 'data') {
        pos += this.takeData(chunk, pos);
        continue;
      }
      if (this.state === 'pad') {
        const n = Math.min(this.need, chunk.length - pos);
        this.need -= n;
        pos += n;
        if (this.need === 0) this.expectHeader();
        continue;
      }
      const n = Math.min(this.need - this.heldLen, chunk.length - pos);
      if (this.heldLen === 0) this.blockStart = this.offset + pos;
      // A block cut by the chunk's end is copied: the chunk's memory may be reused once it has been parsed.
      this.held.push(this.heldLen + n < this.need ? Buffer.from(chunk.subarray(pos, pos + n)) : chunk.subarray(pos, pos + n));
      this.heldLen += n;
      pos += n;
      if (this.heldLen === this.need) {
        const block = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held);
        this.held = [];
        this.heldLen = 0;
        this.onBlock(block);
      }
    }
    this.offset += chunk.length;
    return this.out;
  }

  /** Ends the stream: a truncated archive (mid-entry, or no end-of-archive block) is an error. */
  end(): void {
    if (this.state === 'done') return;
    const where = this.current ? ` in the data of ${JSON.stringify(this.current.path)}` : this.header ? ` after the header of ${JSON.stringify(this.header.name)}` : '';
    throw new TarError(`truncated archive: the stream ended at byte ${this.offset}${where} before the end-of-archive marker`);
  }

  private expectHeader(): void {
    this.state = 'header';
    this.need = BLOCK;
    this.header = null;
    this.current = null;
  }

  private onBlock(b: Buffer): void {
    switch (this.state) {
      case 'header':
        return this.onHeader(b);
      case 'meta':
        return this.onMeta(b);
      case 'sparse-ext':
        return this.onSparseExt(b);
      case 'sparse-map':
        return this.onSparseMap(b);
      default:
        throw new TarError(`internal parser state ${this.state}`);
    }
  }

  private onHeader(b: Buffer): void {
    if (isZeroBlock(b)) {
      // GNU tar writes two zero blocks; one is enough to know the archive ended on purpose.
      this.state = 'done';
      this.out.push({ kind: 'eof' });
      return;
    }
    const h = decodeHeader(b, this.blockStart);
    this.header = h;
    if ('LKxgXD'.includes(h.type) && h.type !== '') {
      if (h.type === 'D') return this.startEntry(h); // GNU dumpdir: a directory whose listing is data
      this.metaType = h.type;
      if (h.size === 0) return this.onMeta(Buffer.alloc(0));
      this.state = 'meta';
      this.need = Math.ceil(h.size / BLOCK) * BLOCK;
      return;
    }
    if (h.sparse?.extended) {
      this.regions = [...h.sparse.map];
      this.state = 'sparse-ext';
      this.need = BLOCK;
      return;
    }
    this.startEntry(h);
  }

  private onMeta(buf: Buffer): void {
    const h = this.header!;
    const body = buf.subarray(0, h.size);
    if (this.metaType === 'L' || this.metaType === 'K') {
      const end = body.indexOf(0);
      const text = body.toString('utf8', 0, end < 0 ? body.length : end);
      if (this.metaType === 'L') this.longName = text;
      else this.longLink = text;
    } else {
      const recs = parsePax(body, this.longName ?? h.name);
      if (this.metaType === 'g') this.globalPax.push(...recs);
      else this.pax.push(...recs);
    }
    this.expectHeader();
  }

  private onSparseExt(b: Buffer): void {
    this.regions.push(...sparsePairs(b, 0, 21));
    if (b[504] !== 0) return; // another extension block follows
    this.startEntry(this.header!, this.regions);
  }

  private onSparseMap(b: Buffer): void {
    this.mapBuf = this.mapBuf ? Buffer.concat([this.mapBuf, b]) : Buffer.from(b);
    const got = readSparse10Map(this.mapBuf, this.current!.path);
    if (got === null) {
      if (this.mapBuf.length >= this.dataLeft) throw new TarError('the sparse map runs past the entry\'s data', this.current!.path);
      this.need = BLOCK;
      return;
    }
    this.dataLeft -= this.mapBuf.length;
    this.mapBuf = null;
    this.regions = got;
    this.beginData();
  }

  private startEntry(h: RawHeader, regions?: Array<[number, number]>): void {
    const built = buildEntry(h, [...this.globalPax, ...this.pax], this.longName, this.longLink, regions);
    this.pax = [];
    this.longName = null;
    this.longLink = null;
    this.current = built.entry;
    this.out.push({ kind: 'entry', entry: built.entry });
    this.dataLeft = built.storedSize;
    this.regions = built.regions ?? [[0, built.storedSize]];
    if (built.sparse10) {
      this.state = 'sparse-map';
      this.need = BLOCK;
      return;
    }
    this.beginData();
  }

  private beginData(): void {
    this.region = 0;
    this.inRegion = 0;
    const stored = this.dataLeft;
    this.need = (BLOCK - (stored % BLOCK)) % BLOCK; // padding after the data
    if (stored === 0) return this.finishEntry();
    this.state = 'data';
  }

  private takeData(chunk: Buffer, pos: number): number {
    const n = Math.min(this.dataLeft, chunk.length - pos);
    let done = 0;
    while (done < n) {
      const r = this.regions[this.region];
      if (!r) throw new TarError(`sparse map covers less than the stored data`, this.current?.path);
      const take = Math.min(r[1] - this.inRegion, n - done);
      if (take > 0) this.out.push({ kind: 'data', buf: chunk.subarray(pos + done, pos + done + take), pos: r[0] + this.inRegion });
      this.inRegion += take;
      done += take;
      if (this.inRegion >= r[1]) {
        this.region++;
        this.inRegion = 0;
      }
    }
    this.dataLeft -= n;
    if (this.dataLeft === 0) this.finishEntry();
    return n;
  }

  private finishEntry(): void {
    this.out.push({ kind: 'entry-end' });
    if (this.need > 0) {
      this.state = 'pad';
      this.current = null;
    } else this.expectHeader();
  }
}

