// DHCPv6 RELEASE bytes (RFC 8415 18.2.7): our DUID-LL, the server's DUID, the IA_NA with the address, lifetimes zero.

import { describe, expect, it } from 'vitest';
import { encodeRelease6 } from '../../../agent/net/dhcp6-release.js';
import { DHCP6_TYPES, OPT6, decodeDhcp6, parseOptions6 } from '../../../agent/net/dhcp6-packet.js';
import type { Dhcp6Lease } from '../../../agent/net/dhcp6-client.js';

const mac = Buffer.from('52540012abcd', 'hex');
const lease: Dhcp6Lease = { iface: 'vc1', address: 'fd42:79:1::1a5', preferred: 120, valid: 120, serverId: '000100012a3b4c5d0242ac110002', server: 'fe80::1', dns: [], domains: [], rapidCommit: false, problems: [] };

describe('encodeRelease6', () => {
  it('names the client, the server and the released address in one IA_NA', () => {
    const d = decodeDhcp6(encodeRelease6(lease, mac, 0x123456));
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.msg.type).toBe(DHCP6_TYPES.release);
    expect(d.msg.xid).toBe(0x123456);
    const opt = (code: number) => d.msg.options.find((o) => o.code === code)!.data;
    expect(opt(OPT6.clientId).toString('hex')).toBe('00030001' + '52540012abcd');
    expect(opt(OPT6.serverId).toString('hex')).toBe(lease.serverId);
    expect(opt(OPT6.elapsedTime).toString('hex')).toBe('0000');
    const ia = opt(OPT6.iaNa);
    expect(ia.readUInt32BE(0)).toBe(0x0012abcd); // IAID: the MAC's last four bytes, as in the SOLICIT
    expect(ia.subarray(4, 12).toString('hex')).toBe('0'.repeat(16));
    const inner = parseOptions6(ia.subarray(12), 'IA_NA');
    expect(inner.ok && inner.options.map((o) => [o.code, o.data.toString('hex')])).toEqual([[OPT6.iaAddr, 'fd420079000100000000000000000' + '1a5' + '0'.repeat(16)]]);
  });
});
