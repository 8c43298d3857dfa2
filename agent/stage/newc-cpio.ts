// A newc cpio archive of a few small files, written in memory: the local.cfg appended to a staged initrd.

/** One regular file for the archive; path relative to the archive root, without a leading slash. */
export interface CpioFile {
  path: string;
  data: Buffer;
  mode?: number;
  mtime?: number;
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;
const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');

/** One newc header plus name (NUL-terminated, padded to 4) for an entry. */
function header(name: string, ino: number, mode: number, size: number, mtime: number): Buffer {
  const nameBuf = Buffer.from(name + '\0', 'utf8');
  const fields = [ino, mode, 0, 0, 1, mtime, size, 0, 0, 0, 0, nameBuf.length, 0];
  const head = Buffer.from('070701' + fields.map(hex8).join(''), 'ascii');
  return Buffer.concat([head, nameBuf, Buffer.alloc(pad4(head.length + nameBuf.length))]);
}

/**
 * The files as a newc archive ending in TRAILER!!!, padded to 512 bytes. The kernel unpacks each archive of an
 * initrd in turn, so this one, appended to a (compressed) initrd, adds or replaces its files.
 */
export function makeNewcArchive(files: readonly CpioFile[]): Buffer {
  const parts: Buffer[] = [];
  files.forEach((f, i) => {
    const name = f.path.replace(/^\/+/, '');
    if (name === '' || name.split('/').includes('..')) throw new Error(`cpio: bad path ${JSON.stringify(f.path)}`);
    parts.push(header(name, i + 1, 0o100000 | (f.mode ?? 0o644), f.data.length, f.mtime ?? 0), f.data, Buffer.alloc(pad4(f.data.length)));
  });
  parts.push(header('TRAILER!!!', 0, 0, 0, 0));
  const body = Buffer.concat(parts);
  return Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}

/** Zero bytes that bring an archive of `length` bytes to a multiple of 4, where the kernel looks for the next one. */
export function alignmentPadding(length: number): Buffer {
  return Buffer.alloc(pad4(length));
}
