// A batch written by the main thread with async calls: small archives (the directory, the scripts) start no worker.

import * as fsp from 'node:fs/promises';
import { TarError } from './tar-header.js';
import { clearPath } from './tar-paths.js';
import { openNew } from './tar-write.js';

/** Writes a batch (9 numbers and 3 strings per entry, as the worker reads them) in order. */
export async function writeBatchHere(num: number[], str: string[], data: Buffer[]): Promise<void> {
  const buf = data.length === 1 ? data[0]! : Buffer.concat(data);
  let entry = '';
  try {
    await writeAll(num, str, buf, (e) => (entry = e));
  } catch (err) {
    throw err instanceof TarError ? err : new TarError((err as Error).message, entry);
  }
}

async function writeAll(num: number[], str: string[], buf: Buffer, at: (entry: string) => void): Promise<void> {
  for (let i = 0, k = 0; i < num.length; i += 9, k += 3) {
    const [kind, off, len, mode, uid, gid, atime, mtime, flags] = num.slice(i, i + 9) as [number, number, number, number, number, number, number, number, number];
    const abs = str[k]!;
    const entry = str[k + 1]!;
    at(entry);
    if (kind === 0) {
      const fh = await openNew(abs, mode, entry);
      try {
        for (let done = 0; done < len; ) done += (await fh.write(buf, off + done, len - done, done)).bytesWritten;
        if (flags & 1) await fh.chown(uid, gid);
        if (flags & 2) await fh.chmod(mode);
        await fh.utimes(atime, mtime);
      } finally {
        await fh.close();
      }
    } else if (kind === 2) {
      try {
        await fsp.mkdir(abs, { mode });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (!(await fsp.lstat(abs)).isDirectory()) {
          await clearPath(abs, entry);
          await fsp.mkdir(abs, { mode });
        }
      }
    } else {
      try {
        await fsp.symlink(str[k + 2]!, abs);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        await clearPath(abs, entry);
        await fsp.symlink(str[k + 2]!, abs);
      }
      if (flags & 1) await fsp.lchown(abs, uid, gid);
      await fsp.lutimes(abs, atime, mtime);
    }
  }
}
