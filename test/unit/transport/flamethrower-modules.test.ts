// Unit: Flamethrower module files (as flamethrowerd writes them, and garbage), udp-receiver's arguments, ACL text encoding.

import { describe, expect, it } from 'vitest';
import { parseModuleFile } from '../../../agent/transport/multicast/modules.js';
import { receiverArgs } from '../../../agent/transport/multicast/receive.js';
import { aclToXattr } from '../../../agent/transport/tar/acl.js';
import { safeRelPath } from '../../../agent/transport/tar/paths.js';

describe('parseModuleFile', () => {
  it('reads what flamethrowerd writes', () => {
    const r = parseModuleFile('MODULE=rhel9\nPORTBASE=9004\nASYNC=on\nTTL=4\nMCAST_ALL_ADDR=224.0.0.9\nNOSYNC=on\n', 'rhel9', 'rhel9');
    expect(r.problems).toEqual([]);
    expect(r.settings).toEqual({ module: 'rhel9', portbase: 9004, async: true, ttl: 4, mcastAllAddr: '224.0.0.9', nosync: true });
  });

  it('takes RETRY, comments, quotes; lists unknown keys', () => {
    const r = parseModuleFile('# made by hand\nPORTBASE="9010"\nRETRY=2\nCOLOR=blue\n', 'x', 'x');
    expect(r.settings).toMatchObject({ portbase: 9010, retry: 2 });
    expect(r.unknown).toEqual(['COLOR']);
  });

  it('names file, line and key of every bad value', () => {
    const r = parseModuleFile('MODULE=other\nPORTBASE=9001\nTTL=300\nNOSYNC=maybe\nMCAST_ALL_ADDR=999.1.1.1\nRETRY=-1\nnonsense\n', 'img', 'img');
    expect(r.settings).toBeUndefined();
    expect(r.problems.map((p) => `${p.source} ${p.key}`)).toEqual([
      'flamethrower_directory/img:7 (line)',
      'flamethrower_directory/img:1 MODULE',
      'flamethrower_directory/img:2 PORTBASE',
      'flamethrower_directory/img:3 TTL',
      'flamethrower_directory/img:4 NOSYNC',
      'flamethrower_directory/img:5 MCAST_ALL_ADDR',
      'flamethrower_directory/img:6 RETRY',
    ]);
  });

  it('requires PORTBASE', () => {
    expect(parseModuleFile('MODULE=a\n', 'a', 'a').problems).toEqual([{ source: 'flamethrower_directory/a', key: 'PORTBASE', message: 'missing: every module file names its portbase' }]);
  });
});

describe('receiverArgs', () => {
  it('is udp-receiver on the interface and portbase, with the module options', () => {
    expect(receiverArgs({ module: 'm', portbase: 9002, ttl: 2, nosync: true, async: true, mcastAllAddr: '224.0.0.1' }, 'eth0', 600, 120)).toEqual([
      '--interface', 'eth0', '--portbase', '9002', '--nokbd', '--ttl', '2', '--nosync', '--mcast-rdv-address', '224.0.0.1', '--start-timeout', '600', '--receive-timeout', '120',
    ]);
    expect(receiverArgs({ module: 'm', portbase: 9000, nosync: false, async: false }, undefined, 5, 60)).toEqual(['--portbase', '9000', '--nokbd', '--start-timeout', '5', '--receive-timeout', '60']);
  });
});

describe('aclToXattr', () => {
  it('encodes as the kernel does (version 2, sorted by tag then id)', () => {
    const b = aclToXattr('user::rw-\ngroup::r--\nother::---\nmask::rw-\nuser:4242:rw-\ngroup:staff:r--', { users: new Map(), groups: new Map([['staff', 50]]) }, 'f');
    const rows = [];
    for (let i = 4; i < b.length; i += 8) rows.push([b.readUInt16LE(i), b.readUInt16LE(i + 2), b.readUInt32LE(i + 4)]);
    expect(b.readUInt32LE(0)).toBe(2);
    expect(rows).toEqual([[1, 6, 0xffffffff], [2, 6, 4242], [4, 4, 0xffffffff], [8, 4, 50], [0x10, 6, 0xffffffff], [0x20, 0, 0xffffffff]]);
  });

  it('refuses a name the image does not know', () => {
    expect(() => aclToXattr('user:nobody-here:r--', { users: new Map(), groups: new Map() }, 'etc/x')).toThrow(/tar entry "etc\/x": ACL names user "nobody-here"/);
  });
});

describe('safeRelPath', () => {
  it('normalizes ./ and empty parts; refuses .. and absolute paths', () => {
    expect(safeRelPath('./etc//passwd', 'e')).toBe('etc/passwd');
    expect(safeRelPath('./', 'e')).toBe('');
    expect(() => safeRelPath('a/../../b', 'e')).toThrow(/contains "\.\."/);
    expect(() => safeRelPath('/etc/passwd', 'e')).toThrow(/absolute path/);
  });
});
