// Finds a sparse file's data regions. Node has no SEEK_DATA/SEEK_HOLE, so a file whose allocated blocks are fewer than its
// size is read once and every aligned 4 KiB block of zeros counts as a hole (as GNU tar -S does when it cannot seek).

import * as fs from 'node:fs';

export const HOLE_BLOCK = 4096;
const READ = 1 << 20;

/** True when the file is worth scanning: fewer bytes allocated than it is long. */
export function looksSparse(st: fs.BigIntStats): boolean {
  return st.size > 0n && st.blocks * 512n < st.size;
}

function isZero(b: Buffer, off: number, len: number): boolean {
  let i = off;
  const end = off + len;
  for (; i + 8 <= end; i += 8) if (b.readBigUInt64LE(i) !== 0n) return false;
  for (; i < end; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * The data regions [offset, length] of a file of `size` bytes read through fd; a file that ends in a hole gets a last
 * region [size, 0] (GNU tar's form: the map then tells the real size). A file with no holes gives one region.
 */
export function scanRegions(fd: number, size: number, buf: Buffer = Buffer.allocUnsafe(READ)): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = -1;
  let pos = 0;
  while (pos < size) {
    const n = fs.readSync(fd, buf, 0, Math.min(READ, size - pos), pos);
    if (n === 0) break;
    for (let o = 0; o < n; o += HOLE_BLOCK) {
      const len = Math.min(HOLE_BLOCK, n - o);
      // Only a whole block is a hole; a short last block is data.
      const hole = len === HOLE_BLOCK && isZero(buf, o, len);
      if (hole && start >= 0) {
        out.push([start, pos + o - start]);
        start = -1;
      } else if (!hole && start < 0) start = pos + o;
    }
    pos += n;
  }
  if (start >= 0) out.push([start, pos - start]);
  const last = out.at(-1);
  if (!last || last[0] + last[1] < size) out.push([size, 0]);
  return out;
}

/** The PAX sparse 1.0 map that starts the entry's data: count, then offset and length, a decimal per line, padded. */
export function sparseMapBlock(regions: Array<[number, number]>): Buffer {
  const text = [regions.length, ...regions.flat()].join('\n') + '\n';
  const len = Math.ceil(Buffer.byteLength(text) / 512) * 512;
  const b = Buffer.alloc(len);
  b.write(text, 0, 'latin1');
  return b;
}
