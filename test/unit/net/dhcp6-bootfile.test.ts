// Option 59 (RFC 5970) read into the image server's host, and where IMAGESERVER comes from without it.

import { describe, expect, it } from 'vitest';
import { decodeBootfileUrl, imageServerFromDhcp6 } from '../../../agent/net/dhcp6-bootfile.js';
import type { Dhcp6Lease } from '../../../agent/net/dhcp6-client.js';

const lease: Dhcp6Lease = { iface: 'eth1', address: 'fd42:77::105', preferred: 120, valid: 120, serverId: '00010001aabbccdd', server: 'fe80::5054:ff:fe12:3456', dns: [], domains: [], rapidCommit: false, problems: [] };

describe('decodeBootfileUrl', () => {
  it.each([
    ['tftp://[fd42:0077::0001]/pxelinux.0', 'fd42:77::1'],
    ['http://imageserver.cluster:8080/boot/x86_64/standard/ipxe.efi', 'imageserver.cluster'],
    ['http://[2001:db8::7]/', '2001:db8::7'],
  ])('%s: host %s', (url, host) => {
    expect(decodeBootfileUrl(Buffer.from(url))).toEqual({ ok: true, url, host });
  });

  it.each([
    ['', 'empty'],
    ['tftp://fd42::1/x', '"tftp://fd42::1/x" is not a URL'],
    ['pxelinux.0', '"pxelinux.0" is not a URL'],
    ['file:///boot/x', '"file:///boot/x" names no host'],
    ['tftp://[fe80::1]/x', 'its host fe80::1 is a link-local address'],
    ['tftp://[ff02::1]/x', 'its host ff02::1 is a multicast address'],
    ['http://bad host/x', 'has bytes that are not printable ASCII'],
    ['http://a\u0000b/', 'has bytes that are not printable ASCII'],
  ])('refuses %j: %s', (url, reason) => {
    expect(decodeBootfileUrl(Buffer.from(url, 'latin1'))).toEqual({ ok: false, reason });
  });
});

describe('imageServerFromDhcp6', () => {
  it('prefers the boot-file URL host', () => {
    expect(imageServerFromDhcp6({ ...lease, bootfileUrl: { url: 'tftp://[fd42:77::1]/p', host: 'fd42:77::1' } })).toMatchObject({ name: 'IMAGESERVER', value: 'fd42:77::1', source: 'dhcp', option: 'dhcp6 59' });
  });
  it('else the server, a link-local address with the link as its zone', () => {
    expect(imageServerFromDhcp6(lease)).toMatchObject({ value: 'fe80::5054:ff:fe12:3456%eth1', option: 'dhcp6 server' });
    expect(imageServerFromDhcp6({ ...lease, server: 'fd42:77::2' })).toMatchObject({ value: 'fd42:77::2' });
  });
});
