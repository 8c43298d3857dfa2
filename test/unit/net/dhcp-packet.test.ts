import { describe, expect, it } from 'vitest';
import { checkReplyFor, decodeDhcpPacket, decodeDhcpRequest, DHCP_MAGIC, formatMac, parseMac } from '../../../agent/net/dhcp-packet.js';
import { encodeClientRequest, PARAMETER_REQUEST_LIST } from '../../../agent/net/dhcp-request.js';
import { brokenVariants, buildReply, encodeReply } from '../../system/lib-net/reply-builder.js';

const MAC = Buffer.from([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
const XID = 0x1234abcd;

describe('encodeClientRequest', () => {
  it('builds a DISCOVER with header, broadcast flag, cookie and the SystemImager request list', () => {
    const b = encodeClientRequest({ type: 'discover', xid: XID, mac: MAC, secs: 3.7, hostname: 'node017' });
    expect(b.length).toBeGreaterThanOrEqual(300);
    expect([b[0], b[1], b[2], b[3]]).toEqual([1, 1, 6, 0]);
    expect(b.readUInt32BE(4)).toBe(XID);
    expect(b.readUInt16BE(8)).toBe(3);
    expect(b.readUInt16BE(10)).toBe(0x8000);
    expect(b.subarray(28, 34)).toEqual(MAC);
    expect(b.readUInt32BE(236)).toBe(DHCP_MAGIC);
    const d = decodeDhcpRequest(b);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.type).toBe(1);
    expect([...d.msg.options.get(55)!]).toEqual([...PARAMETER_REQUEST_LIST]);
    for (const code of [1, 28, 3, 6, 12, 15, 7, 100, 140, 141, 142, 143, 144]) expect(d.msg.options.get(55)).toContain(code);
    expect(d.msg.options.get(61)).toEqual(Buffer.concat([Buffer.from([1]), MAC]));
    expect(d.msg.options.get(57)!.readUInt16BE(0)).toBe(1472);
    expect(d.msg.options.get(12)!.toString()).toBe('node017');
    expect(d.msg.options.has(50)).toBe(false);
    expect(d.msg.options.has(54)).toBe(false);
  });

  it('builds a REQUEST with the requested address (50) and server id (54)', () => {
    const d = decodeDhcpRequest(encodeClientRequest({ type: 'request', xid: XID, mac: MAC, secs: 0, requestedIp: '10.213.0.50', serverId: '10.213.0.1' }));
    expect(d.ok && d.type).toBe(3);
    if (!d.ok) return;
    expect([...d.msg.options.get(50)!]).toEqual([10, 213, 0, 50]);
    expect([...d.msg.options.get(54)!]).toEqual([10, 213, 0, 1]);
    expect(d.msg.options.has(12)).toBe(false);
  });

  it('builds a RELEASE: the address given back as ciaddr, the server id (54), no parameter request list', () => {
    const d = decodeDhcpRequest(encodeClientRequest({ type: 'release', xid: XID, mac: MAC, secs: 9, serverId: '10.213.0.1', releaseIp: '10.213.0.50' }));
    expect(d.ok && d.type).toBe(7);
    if (!d.ok) return;
    expect(d.msg.ciaddr).toBe('10.213.0.50');
    expect([...d.msg.options.get(54)!]).toEqual([10, 213, 0, 1]);
    expect(d.msg.options.has(55)).toBe(false);
    expect(d.msg.flags).toBe(0);
  });
});

describe('decodeDhcpPacket', () => {
  const good = { type: 'ack' as const, xid: XID, mac: MAC, yiaddr: '10.213.0.77', options: [[140, Buffer.from([10, 213, 0, 1])]] as Array<[number, Buffer]> };

  it('decodes a well-formed ACK', () => {
    const d = decodeDhcpPacket(encodeReply(good));
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.type).toBe(5);
    expect(d.msg.yiaddr).toBe('10.213.0.77');
    expect(d.msg.options.get(140)).toEqual(Buffer.from([10, 213, 0, 1]));
    expect(checkReplyFor(d.msg, XID, MAC)).toBeUndefined();
  });

  for (const v of brokenVariants(good)) {
    it(`refuses or filters: ${v.name}`, () => {
      const d = decodeDhcpPacket(v.bytes);
      if (d.ok) {
        // Structurally fine, but not ours: the client filter must say why.
        expect(checkReplyFor(d.msg, XID, MAC)).toMatch(/xid|another client/);
      } else {
        expect(d.reason).toMatch(/\w/);
      }
    });
  }

  it('gives specific reasons', () => {
    const reasons = Object.fromEntries(brokenVariants(good).map((v) => { const d = decodeDhcpPacket(v.bytes); return [v.name, d.ok ? checkReplyFor(d.msg, XID, MAC) : d.reason]; }));
    expect(reasons['truncated options']).toMatch(/runs past the end/);
    expect(reasons['bad option length']).toMatch(/length 250 runs past/);
    expect(reasons['option without length byte']).toMatch(/no length byte/);
    expect(reasons['wrong xid']).toMatch(/wrong xid/);
    expect(reasons['wrong magic cookie']).toMatch(/magic cookie 0xdeadbeef/);
    expect(reasons['wrong op']).toMatch(/not a BOOTREPLY/);
    expect(reasons['another chaddr']).toMatch(/another client/);
    expect(reasons['short packet']).toMatch(/too short/);
    expect(reasons['no message type']).toMatch(/no DHCP message type/);
    expect(reasons['bad message type']).toMatch(/bad DHCP message type/);
  });

  it('reads options from the file and sname fields when option 52 says so', () => {
    const b = encodeReply({ ...good, options: [[52, Buffer.from([3])]] });
    Buffer.from([140, 4, 10, 0, 0, 9, 255]).copy(b, 108); // file
    Buffer.from([142, 3, 0x61, 0x62, 0x63, 255]).copy(b, 44); // sname
    const d = decodeDhcpPacket(b);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.msg.options.get(140)).toEqual(Buffer.from([10, 0, 0, 9]));
    expect(d.msg.options.get(142)!.toString()).toBe('abc');
    expect(d.msg.file).toBeUndefined();
  });

  it('splits and rejoins options longer than 255 bytes (RFC 3396)', () => {
    const long = Buffer.alloc(600, 0x41);
    const d = decodeDhcpPacket(encodeReply({ ...good, options: [[142, long]] }));
    expect(d.ok && d.msg.options.get(142)).toEqual(long);
  });

  it('accepts options ending without END exactly at the packet end, and pads', () => {
    const b = Buffer.concat([encodeReply(good).subarray(0, 240), Buffer.from([0, 0, 53, 1, 2])]);
    const d = decodeDhcpPacket(b);
    expect(d.ok && d.type).toBe(2);
  });

  it('never throws on random bytes or mutated packets (fuzz)', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const base = encodeReply({ ...good, options: [[140, Buffer.from('10.0.0.1')], [142, Buffer.from('http://x/y')], [52, Buffer.from([3])]] });
    let accepted = 0;
    for (let i = 0; i < 4000; i++) {
      const len = Math.floor(rnd() * 700);
      const random = Buffer.from(Array.from({ length: len }, () => Math.floor(rnd() * 256)));
      if (rnd() < 0.5 && len > 240) { random[0] = 2; random[1] = 1; random[2] = 6; random.writeUInt32BE(DHCP_MAGIC, 236); }
      const m = Buffer.from(base.subarray(0, rnd() < 0.2 ? Math.floor(rnd() * base.length) : base.length));
      for (let k = 0, n = 1 + Math.floor(rnd() * 8); k < n && m.length > 0; k++) m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
      for (const buf of [random, m]) {
        const d = decodeDhcpPacket(buf);
        if (d.ok) {
          accepted++;
          expect(d.type).toBeGreaterThanOrEqual(1);
          checkReplyFor(d.msg, XID, MAC);
        } else expect(typeof d.reason).toBe('string');
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });
});

describe('MAC helpers', () => {
  it('round-trips', () => {
    expect(formatMac(MAC)).toBe('52:54:00:12:34:56');
    expect(parseMac('52:54:00:12:34:56')).toEqual(MAC);
    expect(parseMac('52:54:00:12:34')).toBeUndefined();
    expect(buildReply({ type: 'nak', xid: 1, mac: MAC }).yiaddr).toBe('0.0.0.0');
  });
});
