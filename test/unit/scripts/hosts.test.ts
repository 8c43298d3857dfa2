import { describe, expect, it } from 'vitest';
import { findHostnameByIp, normalizeIp, parseHostsFile } from '../../../agent/plan/hosts.js';
import { readFixture } from './fixture.js';

describe('findHostnameByIp over si-addclients.hosts', () => {
  const { entries, problems } = parseHostsFile(readFixture('hosts/si-addclients.hosts'), 'scripts/hosts');

  it('has no problems', () => expect(problems).toEqual([]));

  it.each([
    ['10.0.0.1', 'master1'],
    ['10.0.0.10', 'node010'], // exact: 10.0.0.1 does not match 10.0.0.10 nor the reverse
    ['10.0.0.11', 'node011'],
    ['10.0.0.100', 'node100'],
    ['10.0.0.2', 'node002'], // leading blanks, FQDN first, trailing tab
    ['127.0.0.1', 'localhost'],
    ['::1', 'localhost6'],
    ['0:0:0:0:0:0:0:1', 'localhost6'],
    ['fd00::2a', 'node042'],
    ['FD00:0:0:0:0:0:0:2A', 'node042'],
    ['fd00::1:2b', 'node043'],
    ['10.0.0.12', 'node012'], // first matching line wins
    ['10.0.0.3', undefined],
    ['10.0.0', undefined],
    ['node010', undefined], // a name is not an address
    ['', undefined],
  ])('%s -> %s', (ip, name) => {
    expect(findHostnameByIp(entries, ip)).toBe(name);
  });

  it('keeps every name of a line, canonical first', () => {
    expect(entries.find((e) => e.ip === '10.0.0.1')).toEqual({ ip: '10.0.0.1', names: ['master1.cluster.example', 'master1', 'imageserver'], line: 6 });
  });
});

describe('parseHostsFile with broken lines', () => {
  const { entries, problems } = parseHostsFile(readFixture('hosts/broken.hosts'), 'scripts/hosts');

  it('keeps the good lines', () => {
    expect(entries.map((e) => [e.ip, e.names])).toEqual([
      ['10.0.0.5', ['node005']],
      ['10.0.0.8', ['node008', 'ok-alias']],
    ]);
  });

  it('reports each bad line or name with file and line', () => {
    expect(problems.map((p) => p.source)).toEqual([3, 4, 5, 6, 7, 8, 9, 10].map((n) => `scripts/hosts:${n}`));
    expect(problems[0]!.message).toMatch(/"10\.0\.0\.256" is not an IPv4 or IPv6 address/);
    expect(problems[2]).toMatchObject({ key: '10.0.0.6', message: expect.stringMatching(/no host name/) });
    expect(problems[3]!.message).toContain('"$(reboot)"');
    expect(problems[4]!.message).toMatch(/alias "`id`".*ignored/);
  });

  it('does not fall back to an alias when the first name is bad', () => {
    expect(findHostnameByIp(entries, '10.0.0.7')).toBeUndefined();
  });
});

describe('parseHostsFile on hostile text', () => {
  it('survives a 100 kB line and reports it shortened', () => {
    const long = '10.0.0.9 ' + 'a'.repeat(100_000) + '\n10.0.0.8 ok\n' + 'x'.repeat(100_000);
    const { entries, problems } = parseHostsFile(long, 'h');
    expect(entries.map((e) => e.names[0])).toEqual(['ok']);
    expect(problems).toHaveLength(2);
    for (const p of problems) expect(p.message.length).toBeLessThan(300);
  });

  it('handles CRLF and a byte-order mark', () => {
    const { entries, problems } = parseHostsFile('\uFEFF10.0.0.4 node004\r\n10.0.0.5 node005\r\n', 'h');
    expect(problems).toEqual([]);
    expect(findHostnameByIp(entries, '10.0.0.4')).toBe('node004');
    expect(findHostnameByIp(entries, '10.0.0.5')).toBe('node005');
  });
});

describe('normalizeIp', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['::ffff:10.0.0.1', '0:0:0:0:0:ffff:a00:1'],
    ['fe80::1%eth0', 'fe80:0:0:0:0:0:0:1'],
    ['::', '0:0:0:0:0:0:0:0'],
    ['nonsense', undefined],
  ])('%s -> %s', (ip, norm) => expect(normalizeIp(ip)).toBe(norm));
});
