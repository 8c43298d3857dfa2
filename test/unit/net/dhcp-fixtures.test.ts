import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkReplyFor, decodeDhcpPacket, formatMac, parseMac } from '../../../agent/net/dhcp-packet.js';
import { interpretLease, leaseToAssignments } from '../../../agent/net/dhcp-options.js';

const dir = join(__dirname, '../../../fixtures/dhcp/');
const cases = readdirSync(dir).filter((f) => f.endsWith('.hex'));
const bytesOf = (f: string) => Buffer.from(readFileSync(dir + f, 'utf8').replace(/\s+/g, ''), 'hex');

describe('replies captured from dnsmasq and ISC dhcpd (fixtures/dhcp)', () => {
  it('has fixtures', () => expect(cases.length).toBeGreaterThanOrEqual(4));
  for (const file of cases) {
    it(file, () => {
      const want = JSON.parse(readFileSync(dir + file.replace(/\.hex$/, '.expected.json'), 'utf8'));
      const d = decodeDhcpPacket(bytesOf(file));
      if (!d.ok) throw new Error(d.reason);
      expect(d.type).toBe(want.type);
      expect(checkReplyFor(d.msg, parseInt(want.xid, 16), parseMac(want.chaddr)!)).toBeUndefined();
      expect(formatMac(d.msg.chaddr)).toBe(want.chaddr);
      const lease = interpretLease(d.msg, 'eth0', '10.213.31.1');
      const got = Object.fromEntries(leaseToAssignments(lease).map((a) => [a.name, `${a.value} (${a.option})`]));
      expect(got).toEqual(want.assignments);
      expect(lease.problems).toEqual([]);
    });

    it(`${file}: every truncation and single-byte corruption decodes or is refused, never throws`, () => {
      const good = bytesOf(file);
      for (let n = 0; n < good.length; n++) {
        const d = decodeDhcpPacket(good.subarray(0, n));
        if (d.ok) interpretLease(d.msg, 'eth0', '10.213.31.1');
      }
      for (let i = 0; i < good.length; i += 3) {
        for (const v of [0, 0xff, good[i]! ^ 0x55]) {
          const m = Buffer.from(good);
          m[i] = v;
          const d = decodeDhcpPacket(m);
          if (d.ok) leaseToAssignments(interpretLease(d.msg, 'eth0', '10.213.31.1'));
          else expect(d.reason.length).toBeGreaterThan(0);
        }
      }
    });
  }
});
