// Builds small ustar archives by hand for tests (hostile entries GNU tar would never write); test-side only.

export interface BuildEntry {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo';
  data?: string | Buffer;
  linkname?: string;
  mode?: number;
  /** PAX records written in an 'x' header before this entry. */
  pax?: Record<string, string | Buffer>;
}

const TYPE: Record<string, string> = { file: '0', hardlink: '1', symlink: '2', dir: '5', fifo: '6' };

function octal(b: Buffer, off: number, len: number, v: number): void {
  b.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

function header(name: string, type: string, size: number, linkname = '', mode = 0o644): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, 'utf8');
  octal(b, 100, 8, mode);
  octal(b, 108, 8, 0);
  octal(b, 116, 8, 0);
  octal(b, 124, 12, size);
  octal(b, 136, 12, 1_600_000_000);
  b.write('        ', 148, 8, 'latin1');
  b.write(type, 156, 1, 'latin1');
  b.write(linkname, 157, 100, 'utf8');
  b.write('ustar\0' + '00', 257, 8, 'latin1');
  let sum = 0;
  for (const c of b) sum += c;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

function padded(data: Buffer): Buffer[] {
  const pad = (512 - (data.length % 512)) % 512;
  return [data, Buffer.alloc(pad)];
}

function paxBody(rec: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(rec)) {
    const val = Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');
    const body = Buffer.concat([Buffer.from(` ${k}=`), val, Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    parts.push(Buffer.concat([Buffer.from(String(len)), body]));
  }
  return Buffer.concat(parts);
}

/** A ustar archive of the entries, ended by two zero blocks. */
export function buildTar(entries: BuildEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const type = TYPE[e.type ?? 'file']!;
    if (e.pax) {
      const body = paxBody(e.pax);
      parts.push(header('PaxHeader', 'x', body.length), ...padded(body));
    }
    const data = e.type === undefined || e.type === 'file' ? Buffer.from(e.data ?? '') : Buffer.alloc(0);
    parts.push(header(e.name, type, data.length, e.linkname, e.mode ?? (e.type === 'dir' ? 0o755 : 0o644)), ...padded(data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
