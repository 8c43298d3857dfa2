// The boot-configs/ templates render with every placeholder filled, and the etc skeleton says what LVM needs.

import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../../../initrd-build/boot-media.ts';
import { etcFiles } from '../../../initrd-build/etc-skeleton.ts';

const CONFIGS = resolve(import.meta.dirname, '../../../boot-configs');
const VARS = { VERSION: '0.1.0', FLAVOR: 'standard', KERNEL_VERSION: '6.1.0-56-amd64', APPEND: 'IMAGESERVER=10.0.0.1 console=ttyS0' };

describe('boot config templates', () => {
  for (const name of readdirSync(CONFIGS)) {
    it(`${name} renders with no placeholder left`, () => {
      const text = renderTemplate(readFileSync(join(CONFIGS, name), 'utf8'), VARS);
      expect(text).not.toMatch(/@[A-Z_]+@/);
      expect(text).toContain('IMAGESERVER=10.0.0.1 console=ttyS0');
    });
  }
  it('pxelinux loads kernel and initrd from the TFTP root', () => {
    const text = renderTemplate(readFileSync(join(CONFIGS, 'pxelinux.cfg.default'), 'utf8'), VARS);
    expect(text).toMatch(/^\s*KERNEL kernel$/m);
    expect(text).toMatch(/^\s*APPEND initrd=initrd.img IMAGESERVER=10.0.0.1 console=ttyS0$/m);
  });
  it('refuses an unknown placeholder', () => {
    expect(() => renderTemplate('x @NOPE@', VARS)).toThrow(/@NOPE@/);
  });
});

describe('etc skeleton', () => {
  const etc = etcFiles('0.1.0');
  it('turns udev off for LVM and names the version in /etc/issue', () => {
    expect(etc['etc/lvm/lvm.conf']).toMatch(/udev_sync = 0/);
    expect(etc['etc/lvm/lvm.conf']).toMatch(/udev_rules = 0/);
    expect(etc['etc/issue']).toContain('si-agent 0.1.0');
  });
  it('has root in passwd and group', () => {
    expect(etc['etc/passwd']).toMatch(/^root:x:0:0:/m);
    expect(etc['etc/group']).toMatch(/^root:x:0:/m);
  });
});
