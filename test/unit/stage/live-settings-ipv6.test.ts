// `si-agent stage --configure-from`: the IPv6 settings read from `ip -j -6 addr` / `ip -j -6 route show default`
// (captured in a namespace: a static address, a DHCPv6 /128 and a SLAAC address from dnsmasq's router advertisements)
// and written into local.cfg, which the agent then reads back without problems.

import { describe, expect, it } from 'vitest';
import { parseLocalCfg } from '../../../agent/params/local-cfg.js';
import { validateParams } from '../../../agent/params/validate.js';
import { ipv6NameServers, parseLiveIPv6 } from '../../../agent/stage/live-settings-ipv6.js';
import { parseLiveSettings } from '../../../agent/stage/live-settings.js';
import { renderLocalCfg } from '../../../agent/stage/local-cfg-text.js';

const STATIC = { family: 'inet6', local: '2001:db8:5::7', prefixlen: 64, scope: 'global', nodad: true, valid_life_time: 4294967295, preferred_life_time: 4294967295 };
const DHCP6 = { family: 'inet6', local: 'fd42:99::1a5', prefixlen: 128, scope: 'global', nodad: true, dynamic: true, valid_life_time: 120, preferred_life_time: 120 };
const SLAAC = { family: 'inet6', local: 'fd42:99::4ae:81ff:fe5d:83fa', prefixlen: 64, scope: 'global', dynamic: true, mngtmpaddr: true, valid_life_time: 116, preferred_life_time: 116 };
const LINK = { family: 'inet6', local: 'fe80::4ae:81ff:fe5d:83fa', prefixlen: 64, scope: 'link', valid_life_time: 4294967295, preferred_life_time: 4294967295 };
const TEMP = { family: 'inet6', local: 'fd42:99::8d1c:2e4f:99a0:1b2c', prefixlen: 64, scope: 'global', temporary: true, dynamic: true };
const addr6 = (...info: object[]) => JSON.stringify([{ ifindex: 2, link_index: 2, ifname: 'vc0', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1500, addr_info: info }]);
const RA_ROUTE = JSON.stringify([{ dst: 'default', gateway: 'fe80::e80e:d7ff:fe52:4d96', dev: 'vc0', protocol: 'ra', metric: 1024, flags: [], expires: 295, pref: 'medium' }]);
const STATIC_ROUTE = JSON.stringify([{ dst: 'default', gateway: '2001:db8:5::1', dev: 'vc0', metric: 1024, flags: [], pref: 'medium' }]);
const NO_V4 = JSON.stringify([{}]);

/** local.cfg text as the agent reads it: NAME -> value, after checking there are no problems. */
function readBack(text: string): Record<string, string> {
  const parsed = parseLocalCfg(text, 'local.cfg');
  expect(parsed.problems).toEqual([]);
  const params = new Map(parsed.assignments.map((a) => [a.name, { value: a.value, source: 'local.cfg' }]));
  expect(validateParams(params)).toEqual([]);
  return Object.fromEntries(parsed.assignments.map((a) => [a.name, a.value]));
}

describe('parseLiveIPv6', () => {
  it.each([
    ['SLAAC only', addr6(SLAAC, LINK), RA_ROUTE, { assignment: 'auto', address: SLAAC.local, prefix: 64 }],
    ['a DHCPv6 /128 beside SLAAC: DHCPv6', addr6(SLAAC, DHCP6, LINK), RA_ROUTE, { assignment: 'dhcp6', address: DHCP6.local, prefix: 128 }],
    ['a static address wins, with its global gateway', addr6(STATIC, DHCP6, SLAAC, LINK), STATIC_ROUTE, { assignment: 'static', address: STATIC.local, prefix: 64, gateway: '2001:db8:5::1' }],
    ['privacy addresses skipped', addr6(TEMP, SLAAC), '[]', { assignment: 'auto', address: SLAAC.local, prefix: 64 }],
    ['link-local only: none', addr6(LINK), RA_ROUTE, undefined],
    ['deprecated only: none', addr6({ ...SLAAC, deprecated: true }), '[]', undefined],
  ])('%s', (_what, addr, route, want) => {
    expect(parseLiveIPv6('vc0', addr, route)).toEqual(want);
  });

  it('IPv6 name servers: loopback and zoneless link-local left out', () => {
    expect(ipv6NameServers('nameserver 10.0.2.3\nnameserver fd42:99::53\nnameserver ::1\nnameserver fe80::1\nnameserver 2001:db8::53\n')).toEqual(['fd42:99::53', '2001:db8::53']);
  });
});

describe('local.cfg for an IPv6 machine', () => {
  it('IPv6 only, static: IPV4_ASSIGNMENT=off, IPV6ADDR, IPV6_GATEWAY, IPv6 DNS servers', () => {
    const s = parseLiveSettings('vc0', NO_V4, '[]', 'search lab.example\nnameserver 2001:db8:5::53\n', 'node7', addr6(STATIC, LINK), STATIC_ROUTE);
    s.mac = '52:54:00:aa:bb:07';
    expect(readBack(renderLocalCfg(s, '2001:db8:5::1', 'then'))).toEqual({
      HOSTNAME: 'node7', DOMAINNAME: 'lab.example', DEVICE: '52:54:00:aa:bb:07', IPV4_ASSIGNMENT: 'off', IPV6_ASSIGNMENT: 'static',
      IPV6ADDR: '2001:db8:5::7/64', IPV6_GATEWAY: '2001:db8:5::1', DNS_SERVERS: '2001:db8:5::53', IMAGESERVER: '2001:db8:5::1',
    });
  });

  it('IPv6 only by DHCPv6: IPV6_ASSIGNMENT=dhcp6 and no address or gateway written', () => {
    const s = parseLiveSettings('vc0', NO_V4, '[]', 'nameserver fd42:99::1\n', 'node8', addr6(SLAAC, DHCP6, LINK), RA_ROUTE);
    s.mac = '52:54:00:aa:bb:08';
    const got = readBack(renderLocalCfg(s, 'imageserver.test', 'then'));
    expect(got).toMatchObject({ IPV4_ASSIGNMENT: 'off', IPV6_ASSIGNMENT: 'dhcp6', DNS_SERVERS: 'fd42:99::1' });
    expect(got).not.toHaveProperty('IPV6ADDR');
    expect(got).not.toHaveProperty('IPV6_GATEWAY');
  });

  it('dual stack with SLAAC: the IPv4 settings as before, IPV6_ASSIGNMENT=auto, IPv4 keeps its place', () => {
    const v4 = JSON.stringify([{ ifname: 'vc0', address: '52:54:00:12:34:56', addr_info: [{ family: 'inet', local: '10.0.2.61', prefixlen: 24, scope: 'global' }] }]);
    const route = JSON.stringify([{ dst: 'default', gateway: '10.0.2.2', dev: 'vc0' }]);
    const got = readBack(renderLocalCfg(parseLiveSettings('vc0', v4, route, 'nameserver 10.0.2.3\nnameserver fd42:99::1\n', 'n', addr6(SLAAC, LINK), RA_ROUTE), '10.0.2.100', 'then'));
    expect(got).toMatchObject({ IP_ASSIGNMENT: 'static', IPADDR: '10.0.2.61', GATEWAY: '10.0.2.2', IPV6_ASSIGNMENT: 'auto', DNS_SERVERS: '10.0.2.3 fd42:99::1' });
    expect(got).not.toHaveProperty('IPV4_ASSIGNMENT');
  });

  it('a static address behind a link-local router: the gateway left out with a comment saying why', () => {
    const s = parseLiveSettings('vc0', NO_V4, '[]', '', 'n', addr6(STATIC, LINK), RA_ROUTE);
    s.mac = '52:54:00:aa:bb:09';
    const text = renderLocalCfg(s, '2001:db8:5::1', 'then');
    expect(text).toContain('# IPV6_GATEWAY not written: the default router fe80::e80e:d7ff:fe52:4d96 is link-local; give its global address here\n');
    expect(readBack(text)).not.toHaveProperty('IPV6_GATEWAY');
  });
});
