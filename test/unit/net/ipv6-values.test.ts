// IPv6 values and parameters: addresses and prefixes checked with the source named; /proc's IPv6 tables read.

import { describe, expect, it } from 'vitest';
import { validateParams } from '../../../agent/params/validate.js';
import { canonicalName } from '../../../agent/params/names.js';
import { checkIPv6, classifyIPv6, formatIPv6, ipv6Bytes, normalizeIPv6, parseIPv6Prefix } from '../../../agent/net/ipv6-values.js';
import { defaultGateway, parseIfInet6, parseIpv6Routes } from '../../../agent/net/ipv6-proc.js';
import type { Params } from '../../../agent/params/types.js';

const params = (o: Record<string, [string, string]>): Params => new Map(Object.entries(o).map(([k, [value, source]]) => [k, { value, source }]));

describe('IPv6 parameters', () => {
  it('accepts the four assignments, the si.* names and good values', () => {
    expect(canonicalName('si.ipv6')).toBe('IPV6_ASSIGNMENT');
    expect(canonicalName('si.ipv6-addr')).toBe('IPV6ADDR');
    expect(canonicalName('si.ipv6-gateway')).toBe('IPV6_GATEWAY');
    expect(canonicalName('si.ipv4')).toBe('IPV4_ASSIGNMENT');
    for (const m of ['auto', 'dhcp6', 'static', 'off', 'SLAAC', 'dhcpv6']) expect(validateParams(params({ IPV6_ASSIGNMENT: [m, 'cmdline'] }))).toEqual([]);
    expect(validateParams(params({ IPV4_ASSIGNMENT: ['off', 'cmdline'], IPV6ADDR: ['fd42:77::10/64', 'local.cfg:/local.cfg:2'], IPV6_GATEWAY: ['fd42:77::1', 'cmdline'] }))).toEqual([]);
    expect(validateParams(params({ IPV6ADDR: ['2001:db8::a/128', 'cmdline'], IPV6_GATEWAY: ['2001:db8::1', 'cmdline'] }))).toEqual([]);
  });

  it('names source, key and value of every bad one', () => {
    const problems = validateParams(
      params({
        IPV6_ASSIGNMENT: ['dhcp', 'cmdline'],
        IPV4_ASSIGNMENT: ['auto', 'cmdline'],
        IPV6ADDR: ['fd42:77::10', 'local.cfg:/local.cfg:3'],
        IPV6_GATEWAY: ['fd42:77::1/64', 'local.cfg:/local.cfg:4'],
      }),
    );
    expect(problems).toEqual([
      { source: 'cmdline', key: 'IPV6_ASSIGNMENT', message: '"dhcp" is not one of auto, dhcp6, static, off' },
      { source: 'cmdline', key: 'IPV4_ASSIGNMENT', message: '"auto" is not one of dhcp, static, off' },
      { source: 'local.cfg:/local.cfg:3', key: 'IPV6ADDR', message: '"fd42:77::10" is not an IPv6 address with a prefix length (e.g. fd42:77::10/64)' },
      { source: 'local.cfg:/local.cfg:4', key: 'IPV6_GATEWAY', message: '"fd42:77::1/64" is not an IPv6 address' },
    ]);
  });

  const bad: Array<[string, boolean, RegExp]> = [
    ['fd42::1/0', true, /prefix length of 0/],
    ['fd42::1/129', true, /prefix length of 129/],
    ['fd42::g/64', true, /not an IPv6 address/],
    ['10.0.0.1/24', true, /not an IPv6 address/],
    ['fe80::1%eth0', false, /with a zone/],
    ['ff02::1', false, /multicast/],
    ['::1', false, /loopback/],
    ['::', false, /unspecified/],
    ['fe80::1', false, /link-local/],
    ['::ffff:10.0.0.1', false, /ipv4-mapped/],
    ['fd42:::1', false, /not an IPv6 address/],
  ];
  for (const [v, withPrefix, why] of bad) it(`refuses ${v}`, () => expect(checkIPv6(v, withPrefix)).toMatch(why));
});

describe('IPv6 values', () => {
  it('bytes, canonical text and kinds', () => {
    expect(ipv6Bytes('fd42:77::10').toString('hex')).toBe('fd420077000000000000000000000010');
    expect(ipv6Bytes('::ffff:10.1.2.3').toString('hex')).toBe('00000000000000000000ffff0a010203');
    expect(normalizeIPv6('FD42:0077:0:0:0:0:0:0010')).toBe('fd42:77::10');
    expect(formatIPv6(Buffer.from('20010db8000000010000000000000000', 'hex'))).toBe('2001:db8:0:1::');
    expect(formatIPv6(Buffer.from('20010db8000000000001000000000001', 'hex'))).toBe('2001:db8::1:0:0:1');
    expect(formatIPv6(Buffer.alloc(16))).toBe('::');
    expect(classifyIPv6('2001:db8::1')).toBe('global');
    expect(classifyIPv6('fd00::1')).toBe('ula');
    expect(parseIPv6Prefix('fd42:77::10/64')).toEqual({ address: 'fd42:77::10', prefix: 64 });
  });
});

describe('/proc/net IPv6 tables', () => {
  it('reads addresses with their DAD state and the default route of a link', () => {
    const inet6 = [
      'fd4200770001000000000000000001a5 02 80 00 80     vc0',
      'fe80000000000000007400fffe000042 02 40 20 80     vc0',
      'fd420077000100000000000000000abc 02 40 00 c0     vc0',
      'fd420077000100000000000000000bad 02 40 00 88     vc0',
      '00000000000000000000000000000001 01 80 10 80       lo',
    ].join('\n');
    const a = parseIfInet6(inet6);
    expect(a.map((x) => [x.address, x.prefix, x.scope, x.tentative, x.dadFailed])).toEqual([
      ['fd42:77:1::1a5', 128, 'global', false, false],
      ['fe80::74:ff:fe00:42', 64, 'link', false, false],
      ['fd42:77:1::abc', 64, 'global', true, false],
      ['fd42:77:1::bad', 64, 'global', false, true],
      ['::1', 128, 'host', false, false],
    ]);
    const routes = [
      'fd420077000100000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00040001     vc0',
      '00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe80000000000000007400fffe000001 00000400 00000001 00000000 00450003     vc0',
      '00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo',
    ].join('\n');
    const r = parseIpv6Routes(routes);
    expect(r).toHaveLength(2);
    expect(r[0]).toMatchObject({ dest: 'fd42:77:1::', destLen: 64, fromRa: true });
    expect(defaultGateway(r.filter((x) => x.iface === 'vc0'))).toBe('fe80::74:ff:fe00:1');
    expect(defaultGateway(r.slice(0, 1))).toBeUndefined();
  });
});
