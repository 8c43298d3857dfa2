// Unit fuzz: readers of what the image server and the installed system hand the agent must never throw, and what they
// return must be safe to use: the rsync module listing, grub.cfg (kexec), the mount table (ENOSPC reports), and
// whatever a monitor server answers.

import { describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { parseModuleList } from '../../../agent/transport/rsync/modules.js';
import { isSafeName } from '../../../agent/transport/rsync/url.js';
import { mountPointOf } from '../../../agent/transport/rsync/errors.js';
import { parseGrubCfg } from '../../../agent/init/boot-config.js';
import { sendLine } from '../../../agent/report/tcp-send.js';

/** Deterministic pseudo-random text built from atoms that matter to the reader, plus raw bytes. */
function* samples(count: number, atoms: string[], seed = 4242): Generator<string> {
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  for (let k = 0; k < count; k++) {
    let s = '';
    for (let j = rnd(40); j > 0; j--) s += rnd(8) === 0 ? String.fromCharCode(rnd(256)) : atoms[rnd(atoms.length)];
    yield s;
  }
}

describe('readers on arbitrary input', () => {
  it('the rsync module listing yields only safe names, each the start of a tabbed line', () => {
    const atoms = ['scripts', 'fixture-image', '\t', '\n', '\r', ' ', '..', '/', '-x', '.hidden', 'ok_1', 'motd: welcome', '@ERROR', ';rm -rf /', '$(id)', 'é', '\t\t'];
    for (const text of samples(4000, atoms)) {
      const names = parseModuleList(text);
      for (const n of names) {
        expect(isSafeName(n), JSON.stringify(n)).toBe(true);
        expect(text.split('\n').some((l) => l.includes('\t') && l.split('\t')[0]!.trim() === n)).toBe(true);
      }
    }
  });

  it('grub.cfg: never throws; an entry found has one-line kernel, args and initrd taken from that entry', () => {
    const atoms = ['menuentry ', "'Debian' {", '}', '\n', '\tlinux ', '\tlinux16 ', 'linuxefi ', '/boot/vmlinuz-6.1', ' root=UUID=x ro', '\tinitrd ', '/boot/initrd.img', '#', ' ', 'submenu', 'set default=1', '\r\n', '{', '"'];
    for (const text of samples(4000, atoms)) {
      const e = parseGrubCfg(text);
      if (!e) continue;
      for (const v of [e.kernel, e.args, e.initrd ?? '']) expect(v).not.toMatch(/\n/);
      expect(e.kernel.length).toBeGreaterThan(0);
      expect(text).toContain(e.kernel);
    }
  });

  it('the mount table: the mount point found holds the path and is the longest that does', () => {
    const atoms = ['/dev/loop1p2 ', '/sysroot', '/var', '/lib', '/sysroot/var', ' ext4 rw 0 0', '\n', '\\040', ' ', '/', 'tmpfs ', '/tmp'];
    for (const text of samples(3000, atoms)) {
      const m = mountPointOf('/sysroot/var/lib/big.bin', text);
      if (!m) continue;
      expect('/sysroot/var/lib/big.bin' === m.mp || '/sysroot/var/lib/big.bin'.startsWith(m.mp.endsWith('/') ? m.mp : m.mp + '/')).toBe(true);
    }
    expect(mountPointOf('/sysroot/var/lib/x', '/dev/a / ext4 rw 0 0\n/dev/b /sysroot ext4 rw 0 0\n/dev/c /sysroot/var xfs rw 0 0\n/dev/d /sysroot/v ext2 rw 0 0\n')).toEqual({ mp: '/sysroot/var', dev: '/dev/c' });
  });

  it('whatever a monitor server answers (garbage, floods, resets) never breaks sending a line', async () => {
    const answers = [...samples(20, ['OK\n', '\0', 'status=', 'x'.repeat(1000), '\r\n', 'ERROR'])];
    let i = 0;
    const server = createServer((s) => {
      const a = answers[i++ % answers.length]!;
      s.on('error', () => undefined);
      if (i % 3 === 0) return s.destroy(); // reset at once
      s.write(a.repeat(i % 5 === 0 ? 500 : 1));
      if (i % 2 === 0) s.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      for (let k = 0; k < 30; k++) {
        // Resolves, or rejects with an Error: never throws synchronously, never hangs past its timeouts.
        await sendLine({ host: '127.0.0.1', port, line: `status=${k}`, timeoutMs: 1000, lingerMs: 100 }).catch((e: unknown) => expect(e).toBeInstanceOf(Error));
      }
    } finally {
      server.close();
    }
  });
});
