// Hostile DHCPv6 answers: every malformed option refused with a reason (the message, or that option alone), and
// the decoder and interpreter never throw on arbitrary bytes.

import { describe, expect, it } from 'vitest';
import { decodeDhcp6, duidFromMac, encodeDhcp6, encodeOptions6, OPT6, type Dhcp6Option } from '../../../agent/net/dhcp6-packet.js';
import { decodeDomainList, interpretDhcp6 } from '../../../agent/net/dhcp6-options.js';
import { checkAnswer } from '../../../agent/net/dhcp6-request.js';
import { ipv6Bytes } from '../../../agent/net/ipv6-values.js';

const ID = { duid: duidFromMac(Buffer.from('020000000042', 'hex')), iaid: 66 };
const u32 = (...n: number[]) => Buffer.concat(n.map((x) => Buffer.from([x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255])));
const iaaddr = (addr: string, pl = 120, vl = 120, extra = Buffer.alloc(0)): Dhcp6Option => ({ code: OPT6.iaAddr, data: Buffer.concat([ipv6Bytes(addr), u32(pl, vl), extra]) });
const iaNa = (inner: Dhcp6Option[], head = u32(66, 60, 105)): Dhcp6Option => ({ code: OPT6.iaNa, data: Buffer.concat([head, encodeOptions6(inner)]) });
const SERVER: Dhcp6Option = { code: OPT6.serverId, data: Buffer.from('0001000132a962c21a332fbe69ea', 'hex') };
const CLIENT: Dhcp6Option = { code: OPT6.clientId, data: ID.duid };
const GOOD_IA = iaNa([iaaddr('fd42:77:9::186')]);

/** An ADVERTISE with the usual options, `change` applied to the list. */
function advertise(change: (o: Dhcp6Option[]) => Dhcp6Option[]): Buffer {
  return encodeDhcp6({ type: 2, xid: 7, options: change([CLIENT, SERVER, GOOD_IA]) });
}
function interpret(buf: Buffer) {
  const d = decodeDhcp6(buf);
  return d.ok ? interpretDhcp6(d.msg) : d;
}
const opt = (code: number, hex: string): Dhcp6Option => ({ code, data: Buffer.from(hex, 'hex') });

describe('malformed messages are refused whole, with the reason', () => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['three bytes', Buffer.from('020000', 'hex'), /too short \(3 bytes/],
    ['a relay message', Buffer.from('0d000000', 'hex'), /relay message \(type 13\)/],
    ['unknown type 99', Buffer.from('63000000', 'hex'), /unknown message type 99/],
    ['an option running past the end', Buffer.concat([advertise((o) => o), Buffer.from('0017ffff00', 'hex')]), /option 23 at offset \d+ claims 65535 bytes, only 1 left/],
    ['a stray byte after the options', Buffer.concat([advertise((o) => o), Buffer.from('00', 'hex')]), /1 stray byte\(s\)/],
    ['no server identifier', advertise((o) => o.filter((x) => x.code !== OPT6.serverId)), /no server identifier/],
    ['two server identifiers', advertise((o) => [...o, SERVER]), /2 server identifiers/],
    ['a 1-byte server identifier', advertise((o) => o.map((x) => (x.code === OPT6.serverId ? opt(2, '00') : x))), /server identifier of 1 bytes/],
    ['no client identifier', advertise((o) => o.filter((x) => x.code !== OPT6.clientId)), /no client identifier/],
    ['two client identifiers', advertise((o) => [...o, CLIENT]), /2 client identifiers/],
    ['an IA_NA of 8 bytes', advertise((o) => [...o, opt(3, '0000004200000000')]), /IA_NA 2 has 8 bytes, needs at least 12/],
    ['an IA_NA whose inner option overruns', advertise((o) => [...o, opt(3, '000000420000003c00000069000500ff00')]), /IA_NA 2: option 5 at offset 0 claims 255 bytes/],
    ['T1 after T2', advertise(() => [CLIENT, SERVER, iaNa([iaaddr('fd42::5')], u32(66, 200, 100))]), /T1 200 is after T2 100/],
    ['an IAADDR of 20 bytes', advertise(() => [CLIENT, SERVER, iaNa([opt(5, 'fd420077000900000000000000000186' + '00000078')])]), /IAADDR of 20 bytes/],
    ['a multicast IAADDR', advertise(() => [CLIENT, SERVER, iaNa([iaaddr('ff02::1')])]), /IAADDR ff02::1 is a multicast address/],
    ['a link-local IAADDR', advertise(() => [CLIENT, SERVER, iaNa([iaaddr('fe80::1')])]), /is a link-local address/],
    ['a loopback IAADDR', advertise(() => [CLIENT, SERVER, iaNa([iaaddr('::1')])]), /is a loopback address/],
    ['preferred beyond valid', advertise(() => [CLIENT, SERVER, iaNa([iaaddr('fd42::5', 500, 100)])]), /preferred lifetime 500 exceeds its valid lifetime 100/],
    ['an IAADDR whose own options overrun', advertise(() => [CLIENT, SERVER, iaNa([iaaddr('fd42::5', 1, 2, Buffer.from('000d0009', 'hex'))])]), /IAADDR: option 13 at offset 0 claims 9 bytes/],
    ['a 1-byte status code', advertise((o) => [...o, opt(13, '00')]), /status code option of 1 bytes/],
    ['a 1-byte status code inside the IA_NA', advertise(() => [CLIENT, SERVER, iaNa([iaaddr('fd42::5'), opt(13, '02')])]), /IA_NA 1: status code option of 1 bytes/],
  ];
  for (const [name, buf, reason] of cases) {
    it(name, () => {
      const r = interpret(buf);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(reason);
    });
  }
});

describe('malformed informational options are refused one by one, the rest used', () => {
  const cases: Array<[string, Dhcp6Option, RegExp]> = [
    ['DNS servers of 15 bytes', opt(23, 'fd420077000900000000000000000053'.slice(0, 30)), /DNS servers option \(23\) refused: length 15 is not a multiple of 16/],
    ['an empty DNS servers option', opt(23, ''), /length 0 is not a multiple of 16/],
    ['a multicast DNS server', opt(23, 'ff020000000000000000000000000001'), /ff02::1 is a multicast address/],
    ['an unspecified DNS server', opt(23, '00000000000000000000000000000000'), /:: is a unspecified address/],
    ['a domain list with a compression pointer', opt(24, '04746573740c0000'.replace('0c', 'c0')), /label length 192 .*compression pointers/],
    ['a domain list without its zero label', opt(24, '0474657374'), /no terminating zero label/],
    ['a label overrunning the option', opt(24, '0a7465737400'), /claims 10 bytes, only 5 left/],
    ['a domain with a shell character', opt(24, '05243b72696d00'), /is not a domain name/],
    ['a domain with a newline', opt(24, '04740a737400'), /is not a domain name/],
    ['an empty domain list', opt(24, '00'), /is not a domain name/],
    ['a 2-byte preference', opt(7, '00ff'), /preference option \(7\) of 2 bytes refused/],
    ['a rapid commit with data', opt(14, '01'), /rapid commit option \(14\) of 1 bytes refused/],
  ];
  for (const [name, bad, reason] of cases) {
    it(name, () => {
      const r = interpret(advertise((o) => [...o, bad, opt(23, 'fd420077000900000000000000000053')]));
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.reply.problems.join('\n')).toMatch(reason);
      expect(r.reply.dns).toContain('fd42:77:9::53');
      expect(checkAnswer(r.reply, ID)).toBeUndefined();
    });
  }

  it('a name longer than 255 bytes', () => {
    const label = Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)]);
    const r = decodeDomainList(Buffer.concat([label, label, label, label, Buffer.from([0])]));
    expect(r).toEqual({ ok: false, reason: 'name 1 is longer than 255 bytes' });
  });
});

describe('answers that are well formed but of no use are told apart', () => {
  it('NoAddrsAvail at the top, or in the IA_NA; an IA_NA with no valid address', () => {
    const noAddrs = interpret(advertise(() => [CLIENT, SERVER, opt(13, '00024e6f2061646472657373')]));
    expect(noAddrs.ok && checkAnswer(noAddrs.reply, ID)).toBe('status 2 (No address)');
    const inIa = interpret(advertise(() => [CLIENT, SERVER, iaNa([opt(13, '0002')])]));
    expect(inIa.ok && checkAnswer(inIa.reply, ID)).toBe('IA_NA status 2 (no message)');
    const zero = interpret(advertise(() => [CLIENT, SERVER, iaNa([iaaddr('fd42::9', 0, 0)])]));
    expect(zero.ok && checkAnswer(zero.reply, ID)).toBe('no address with a valid lifetime in its IA_NA');
  });
});

describe('arbitrary bytes', () => {
  it('never throw; a refusal always has a reason; what is accepted holds only checked values', () => {
    let seed = 99;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const base = advertise((o) => [...o, opt(23, 'fd420077000900000000000000000053'), opt(24, '07636c75737465720474657374000474657374'), opt(7, 'ff')]);
    for (let k = 0; k < 20_000; k++) {
      const b = Buffer.from(base.subarray(0, rnd(base.length + 1)));
      for (let j = rnd(6); j > 0; j--) if (b.length > 0) b[rnd(b.length)] = rnd(256);
      const r = interpret(b);
      if (!r.ok) {
        expect(r.reason.length).toBeGreaterThan(5);
        continue;
      }
      for (const d of r.reply.domains) expect(d).toMatch(/^[a-z0-9.-]+$/);
      for (const a of r.reply.dns) expect(a).toMatch(/^[0-9a-f:]+$/);
      for (const ia of r.reply.ias) for (const a of ia.addresses) expect(a.preferred).toBeLessThanOrEqual(a.valid);
    }
  });
});
