import { describe, expect, it } from 'vitest';
import { ParamError, formatProblem } from '../../../agent/errors.js';
import { canonicalName, PARAMS } from '../../../agent/params/names.js';
import { mergeParams } from '../../../agent/params/merge.js';
import { checkValue, getBool, getDiskOrder, getEnum, getOptionalPort, getPort, getString, getUint, validateParams } from '../../../agent/params/validate.js';
import type { Params } from '../../../agent/params/types.js';

const one = (name: string, value: string, source = 'cmdline'): Params => mergeParams([[{ name, value, source }]]);

describe('names', () => {
  it('maps 4.9 aliases and SI_POST_ACTION to 4.3 names', () => {
    expect(canonicalName('si.image-server')).toBe('IMAGESERVER');
    expect(canonicalName('si.monitor-port')).toBe('MONITOR_PORT');
    expect(canonicalName('SI_POST_ACTION')).toBe('POST_ACTION');
    expect(canonicalName('tmpfs_size')).toBe('tmpfs_size');
    expect(canonicalName('imageserver')).toBeUndefined();
    expect(canonicalName('constructor')).toBeUndefined();
  });
  it('has unique names and aliases', () => {
    const all = PARAMS.flatMap((p) => [p.name, ...p.aliases]);
    expect(new Set(all).size).toBe(all.length);
  });
});

describe('checkValue', () => {
  // [name, value, ok]
  const rows: [string, string, boolean][] = [
    ['LOG_SERVER_PORT', '514', true], ['LOG_SERVER_PORT', '0', false], ['LOG_SERVER_PORT', '65535', true], ['LOG_SERVER_PORT', '65536', false], ['LOG_SERVER_PORT', '99999', false], ['LOG_SERVER_PORT', '8o', false], ['LOG_SERVER_PORT', '-1', false],
    ['IPADDR', '10.0.0.1', true], ['IPADDR', '10.0.0.256', false], ['IPADDR', '10.0.0', false], ['IPADDR', '010.0.0.1', false], ['IPADDR', 'host', false], ['IPADDR', '', true],
    ['IMAGESERVER', '10.0.0.1', true], ['IMAGESERVER', 'imgsrv.example.org', true], ['IMAGESERVER', 'fe80::1', true], ['IMAGESERVER', 'bad_host!', false], ['IMAGESERVER', '-x', false],
    ['SSH', 'y', true], ['SSH', 'YES', true], ['SSH', 'True', true], ['SSH', '0', true], ['SSH', 'No', true], ['SSH', 'maybe', false],
    ['POST_ACTION', 'reboot', true], ['POST_ACTION', 'Kexec', true], ['POST_ACTION', 'poweroff', true], ['POST_ACTION', 'halt', true], ['POST_ACTION', 'explode', false],
    ['IP_ASSIGNMENT', 'replicant', true], ['IP_ASSIGNMENT', 'bootp', false], ['BOOT_MODE', 'uefi', true], ['BOOT_MODE', 'efi', false],
    ['DISKORDER', 'sd,nvme,vd,hd', true], ['DISKORDER', 'sd cciss', true], ['DISKORDER', 'sd,,hd', false], ['DISKORDER', 'sd;reboot', false], ['DISKORDER', 'SD', false],
    ['ETHER_SLEEP', '10', true], ['ETHER_SLEEP', '1.5', false], ['ETHER_SLEEP', '99999999999', false],
    ['MY_OWN_VAR', 'anything at all $x', true], ['MY_OWN_VAR', 'two\nlines', false], ['IMAGENAME', 'tab\tok', true],
  ];
  for (const [name, value, ok] of rows) {
    it(`${name}=${JSON.stringify(value)} is ${ok ? 'accepted' : 'refused'}`, () => {
      expect(checkValue(name, value) === undefined).toBe(ok);
    });
  }
});

describe('validateParams', () => {
  it('reports every problem at once, naming source, key and value', () => {
    const p = mergeParams([
      [{ name: 'LOG_SERVER_PORT', value: '99999', source: 'local.cfg:/tmp/x/local.cfg:12' }],
      [{ name: 'IPADDR', value: '1.2.3', source: 'cmdline' }, { name: 'SSH', value: 'sure', source: 'cmdline' }, { name: 'IMAGENAME', value: 'ok', source: 'cmdline' }],
    ]);
    expect(validateParams(p).map(formatProblem).sort()).toEqual([
      'cmdline IPADDR: "1.2.3" is not an IPv4 address',
      'cmdline SSH: "sure" is not a boolean (y/yes/1/true or n/no/0/false)',
      'local.cfg:/tmp/x/local.cfg:12 LOG_SERVER_PORT: "99999" is not a port (1-65535)',
    ]);
  });
  it('defaults are valid', () => expect(validateParams(mergeParams([]))).toEqual([]));
});

describe('typed getters', () => {
  it('getBool reads any case and falls back to the default', () => {
    expect(getBool(one('SSH', 'YES'), 'SSH')).toBe(true);
    expect(getBool(one('SSH', 'false'), 'SSH')).toBe(false);
    expect(getBool(mergeParams([]), 'SSH')).toBe(false);
    expect(getBool(mergeParams([]), 'NOSYNC')).toBe(false);
    expect(getBool(one('SSH', ''), 'SSH')).toBe(false);
    expect(() => getBool(one('SSH', 'maybe'), 'SSH')).toThrow(ParamError);
  });
  it('getPort uses defaults, emptyMeans, and throws with the source', () => {
    expect(getPort(mergeParams([]), 'MONITOR_PORT')).toBe(8181);
    expect(getPort(one('MONITOR_PORT', '9999'), 'si.monitor-port')).toBe(9999);
    expect(getOptionalPort(mergeParams([]), 'FLAMETHROWER_DIRECTORY_PORTBASE')).toBeUndefined();
    expect(getPort(one('FLAMETHROWER_DIRECTORY_PORTBASE', ''), 'FLAMETHROWER_DIRECTORY_PORTBASE')).toBe(9000);
    expect(() => getPort(mergeParams([]), 'FLAMETHROWER_DIRECTORY_PORTBASE')).toThrow(/FLAMETHROWER_DIRECTORY_PORTBASE/);
    expect(() => getPort(one('MONITOR_PORT', '70000', 'local.cfg:/l:3'), 'MONITOR_PORT')).toThrow('local.cfg:/l:3 MONITOR_PORT: "70000" is not a port (1-65535)');
  });
  it('getUint, getEnum, getDiskOrder, getString', () => {
    expect(getUint(mergeParams([]), 'BITTORRENT_POLLING_TIME')).toBe(5);
    expect(getUint(one('ETHER_SLEEP', '3'), 'ETHER_SLEEP')).toBe(3);
    expect(getEnum(mergeParams([]), 'POST_ACTION')).toBe('reboot');
    expect(getEnum(one('POST_ACTION', 'PowerOff'), 'POST_ACTION')).toBe('shutdown');
    expect(getEnum(mergeParams([]), 'BOOT_MODE')).toBeUndefined();
    expect(getDiskOrder(one('DISKORDER', 'nvme, sd vd'))).toEqual(['nvme', 'sd', 'vd']);
    expect(getDiskOrder(mergeParams([]))).toEqual([]);
    expect(getString(one('IMAGENAME', ''), 'IMAGENAME')).toBe('');
    expect(getString(mergeParams([]), 'IMAGENAME')).toBeUndefined();
    expect(getString(one('IMAGESERVER', 'h'), 'si.image-server')).toBe('h');
  });
});
