// The pure decisions of the SPEC 2 local.cfg search: LAST_ROOT specs, when to search, which block devices count as removable.

import { describe, expect, it } from 'vitest';
import { decideSearch, parseDeviceSpec, removableCandidates, type BlockFacts } from '../../../agent/params/local-cfg-places.js';
import { isMacAddress } from '../../../agent/steps/device-by-mac.js';

const a = (name: string, value: string, source = 'cmdline') => ({ name, value, source });

describe('parseDeviceSpec', () => {
  it.each([
    ['/dev/sda2', { kind: 'path', path: '/dev/sda2' }],
    ['sda2', { kind: 'path', path: '/dev/sda2' }],
    ['/dev/disk/by-uuid/abcd', { kind: 'path', path: '/dev/disk/by-uuid/abcd' }],
    ['UUID=0b4e-11', { kind: 'uuid', value: '0b4e-11' }],
    ['uuid="0b4e-11"', { kind: 'uuid', value: '0b4e-11' }],
    ['LABEL=root', { kind: 'label', value: 'root' }],
  ])('%s', (text, want) => expect(parseDeviceSpec(text)).toEqual(want));
  it.each(['', 'UUID=', '/dev/../etc/passwd', '/etc/passwd', 'a b', '$(reboot)', 'LABEL=a/b'])('refuses %j', (text) => expect(parseDeviceSpec(text)).toBeUndefined());
});

describe('decideSearch', () => {
  it('searches by default; LAST_ROOT from the initrd local.cfg, the command line overriding it', () => {
    expect(decideSearch([], [])).toEqual({ search: true });
    expect(decideSearch([], [a('LAST_ROOT', 'UUID=1', 'local.cfg:/local.cfg:1')]).lastRoot?.source).toBe('local.cfg:/local.cfg:1');
    expect(decideSearch([a('LAST_ROOT', '/dev/sda2')], [a('LAST_ROOT', 'UUID=1', 'x')]).lastRoot?.value).toBe('/dev/sda2');
  });
  it('SKIP_LOCAL_CFG true on the command line skips both places; false or set only in a local.cfg does not', () => {
    expect(decideSearch([a('SKIP_LOCAL_CFG', 'yes'), a('LAST_ROOT', '/dev/sda2')], [])).toEqual({ search: false });
    expect(decideSearch([a('SKIP_LOCAL_CFG', 'n'), a('LAST_ROOT', '/dev/sda2')], []).search).toBe(true);
    expect(decideSearch([], [a('SKIP_LOCAL_CFG', 'y', 'x')]).search).toBe(true);
  });
});

describe('removableCandidates', () => {
  const b = (name: string, disk: string, f: Partial<BlockFacts> = {}): BlockFacts => ({ name, disk, removable: false, usb: false, sectors: 100, hasPartitions: false, ...f });
  it('removable or USB, with a medium; partitions rather than their partitioned disk; numeric order', () => {
    const blocks = [
      b('vda', 'vda', { hasPartitions: true }), b('vda1', 'vda'),
      b('sdb', 'sdb', { usb: true, hasPartitions: true }), b('sdb10', 'sdb', { usb: true }), b('sdb2', 'sdb', { usb: true }),
      b('sr0', 'sr0', { removable: true }), b('sr1', 'sr1', { removable: true, sectors: 0 }),
      b('sdc', 'sdc', { removable: true }),
    ];
    expect(removableCandidates(blocks)).toEqual(['sdb2', 'sdb10', 'sdc', 'sr0']);
  });
});

describe('isMacAddress', () => {
  it('six hex bytes with colons, any case', () => {
    expect(isMacAddress('52:54:00:AB:cd:01')).toBe(true);
    expect(isMacAddress('eth0')).toBe(false);
    expect(isMacAddress('52-54-00-ab-cd-01')).toBe(false);
  });
});
