// Pure parts of the binary copying: ldd output parsing and busybox applet planning.

import { describe, expect, it } from 'vitest';
import { parseLdd } from '../../../initrd-build/binaries.ts';
import { planAppletLinks } from '../../../initrd-build/busybox.ts';

// Captured from `ldd /usr/sbin/parted` on Debian 12.
const LDD_PARTED = `	linux-vdso.so.1 (0x00007f55cc4c5000)
	libparted.so.2 => /lib/x86_64-linux-gnu/libparted.so.2 (0x00007f55cc449000)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f55cc1dc000)
	/lib64/ld-linux-x86-64.so.2 (0x00007f55cc4c7000)
`;

describe('parseLdd', () => {
  it('lists the libraries and the loader, not the vdso', () => {
    expect(parseLdd(LDD_PARTED)).toEqual([
      '/lib/x86_64-linux-gnu/libparted.so.2',
      '/lib/x86_64-linux-gnu/libc.so.6',
      '/lib64/ld-linux-x86-64.so.2',
    ]);
  });
  it('returns nothing for a static program', () => {
    expect(parseLdd('\tnot a dynamic executable\n')).toEqual([]);
    expect(parseLdd('\tstatically linked\n')).toEqual([]);
  });
  it('refuses a program whose library is missing', () => {
    expect(() => parseLdd('\tlibfoo.so.1 => not found\n')).toThrow(/libfoo.so.1 not found/);
  });
});

describe('planAppletLinks', () => {
  const list = 'bin/sh\nsbin/mkswap\nsbin/init\nlinuxrc\nusr/bin/wc\nsbin/modprobe\n';
  it('links applets except init and the names of real tools', () => {
    const r = planAppletLinks(list, new Set(['mkswap', 'modprobe']));
    expect(r.links).toEqual(['/bin/sh', '/usr/bin/wc']);
    expect(r.shadowed).toEqual(['mkswap', 'modprobe']);
  });
});
