// DHCPv6 wire format on bytes captured from dnsmasq 2.90: decode, interpret, encode, and the client's checks.

import { describe, expect, it } from 'vitest';
import { decodeDhcp6, duidFromMac, encodeDhcp6, OPT6 } from '../../../agent/net/dhcp6-packet.js';
import { interpretDhcp6 } from '../../../agent/net/dhcp6-options.js';
import { checkAnswer, encodeRequest6, nextTimeout, REQUEST_TIMING, SOLICIT_TIMING } from '../../../agent/net/dhcp6-request.js';

// Captured in network namespaces: our SOLICIT and REQUEST (MAC 02:00:00:00:00:42, IAID 66; their option request list
// since extended with option 59, the boot-file URL), dnsmasq's ADVERTISE and REPLY.
const CAPTURED = {
  solicit: '011111110001000a000300010200000000420003000c0000004200000000000000000008000200000006000600170018003b',
  advertise:
    '021111110001000a000300010200000000420002000e0001000132a962c21a332fbe69ea00030028000000420000003c0000006900050018fd4200770009000000000000000001860000007800000078000d000900007375636365737300070001000018001407636c757374657204746573740004746573740000170010fd420077000900000000000000000053',
  request:
    '032222220001000a000300010200000000420002000e0001000132a962c21a332fbe69ea0003002800000042000000000000000000050018fd42007700090000000000000000018600000000000000000008000200050006000600170018003b',
  reply:
    '072222220001000a000300010200000000420002000e0001000132a962c21a332fbe69ea00030028000000420000003c0000006900050018fd4200770009000000000000000001860000007800000078000d00090000737563636573730018001407636c757374657204746573740004746573740000170010fd420077000900000000000000000053',
};
const MAC = Buffer.from('020000000042', 'hex');
const ID = { duid: duidFromMac(MAC), iaid: 66 };
const hex = (h: string) => Buffer.from(h, 'hex');

describe('DHCPv6 messages from dnsmasq', () => {
  it('reads the ADVERTISE: server, IA_NA with its address, status, preference, DNS server and domain list', () => {
    const d = decodeDhcp6(hex(CAPTURED.advertise));
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.msg.type).toBe(2);
    expect(d.msg.xid).toBe(0x111111);
    const r = interpretDhcp6(d.msg);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.reply).toMatchObject({
      preference: 0,
      rapidCommit: false,
      ias: [{ iaid: 66, t1: 60, t2: 105, addresses: [{ address: 'fd42:77:9::186', preferred: 120, valid: 120 }] }],
      status: { code: 0, message: 'success' },
      dns: ['fd42:77:9::53'],
      domains: ['cluster.test', 'test'],
      problems: [],
    });
    expect(r.reply.serverId.toString('hex')).toBe('0001000132a962c21a332fbe69ea');
    expect(checkAnswer(r.reply, ID)).toBeUndefined();
    expect(checkAnswer(r.reply, { duid: duidFromMac(Buffer.from('020000000043', 'hex')), iaid: 67 })).toBe('its client identifier is not ours');
    expect(checkAnswer(r.reply, { ...ID, iaid: 67 })).toBe('no IA_NA for our IAID');
  });

  it('reads the REPLY', () => {
    const d = decodeDhcp6(hex(CAPTURED.reply));
    const r = d.ok ? interpretDhcp6(d.msg) : d;
    expect(r.ok && r.reply.type === 7 && r.reply.ias[0]!.addresses[0]!.address).toBe('fd42:77:9::186');
  });

  it('encodes the same SOLICIT and REQUEST byte for byte, and re-encodes a decoded message identically', () => {
    expect(encodeRequest6({ type: 'solicit', xid: 0x111111, id: ID, elapsedCs: 0 }).toString('hex')).toBe(CAPTURED.solicit);
    const adv = decodeDhcp6(hex(CAPTURED.advertise));
    if (!adv.ok) throw new Error(adv.reason);
    const serverId = adv.msg.options.find((o) => o.code === OPT6.serverId)!.data;
    expect(encodeRequest6({ type: 'request', xid: 0x222222, id: ID, elapsedCs: 5, serverId, address: 'fd42:77:9::186' }).toString('hex')).toBe(CAPTURED.request);
    expect(encodeDhcp6(adv.msg).toString('hex')).toBe(CAPTURED.advertise);
    // Rapid commit asks with an empty option 14.
    expect(encodeRequest6({ type: 'solicit', xid: 1, id: ID, elapsedCs: 0, rapidCommit: true }).toString('hex')).toMatch(/000e0000$/);
  });

  it('times retransmissions as RFC 8415 15: IRT, doubling, capped at MRT, +/-10 %; the first SOLICIT wait above IRT', () => {
    const lo = () => 0;
    const hi = () => 0.999999;
    expect(nextTimeout(undefined, SOLICIT_TIMING, lo, true)).toBeGreaterThan(1000);
    expect(nextTimeout(undefined, SOLICIT_TIMING, hi, true)).toBeLessThanOrEqual(1100);
    expect(nextTimeout(undefined, REQUEST_TIMING, lo, false)).toBe(900);
    expect(nextTimeout(1000, REQUEST_TIMING, () => 0.5, false)).toBe(2000);
    expect(nextTimeout(20_000, REQUEST_TIMING, () => 0.5, false)).toBe(30_000);
    expect(nextTimeout(20_000, REQUEST_TIMING, hi, false)).toBeLessThanOrEqual(33_000);
  });
});
