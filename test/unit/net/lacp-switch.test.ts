import { describe, expect, it } from 'vitest';
import { aggregated, isLacpdu, lacpdu, parseLacpdu, STATE, type LacpInfo } from '../../boot/lacp.ts';

// The boot tests' LACP partner (test/boot/lacp.ts): its frames have the 802.1AX layout, so a Linux 802.3ad bond in
// QEMU aggregates with it (test/boot/boot-bond.test.ts proves that against the guest kernel).
const guest: LacpInfo = { systemPriority: 65535, system: '52:54:00:5b:15:01', key: 9, portPriority: 255, port: 1, state: STATE.activity | STATE.shortTimeout | STATE.aggregation | STATE.defaulted };
const sw: LacpInfo = { systemPriority: 32768, system: '02:00:00:00:42:00', key: 42, portPriority: 32768, port: 2, state: 0x3f };

describe('LACPDU frames of the test switch', () => {
  it('lays out the slow-protocols frame: address, EtherType, subtype, version, TLVs 1-3, terminator', () => {
    const f = lacpdu('02:00:00:00:42:02', sw, guest);
    expect(f.length).toBe(124);
    expect(f.subarray(0, 6).toString('hex')).toBe('0180c2000002');
    expect(f.subarray(6, 12).toString('hex')).toBe('020000004202');
    expect(f.readUInt16BE(12)).toBe(0x8809);
    expect([f[14], f[15]]).toEqual([1, 1]);
    expect([f[16], f[17], f[36], f[37], f[56], f[57], f[72], f[73]]).toEqual([1, 20, 2, 20, 3, 16, 0, 0]);
    // Actor information: system priority, system, key, port priority, port, state.
    expect(f.subarray(18, 33).toString('hex')).toBe('8000' + '020000004200' + '002a' + '8000' + '0002' + '3f');
    expect(isLacpdu(f)).toBe(true);
  });

  it('reads back what it wrote: the switch as actor, the guest as partner', () => {
    const p = parseLacpdu(lacpdu('02:00:00:00:42:02', sw, guest));
    expect(p).toEqual({ source: '02:00:00:00:42:02', actor: sw, partner: guest });
  });

  it('tells an LACPDU from other frames, and an aggregated port from one still negotiating', () => {
    const f = lacpdu('02:00:00:00:42:02', sw, guest);
    const marker = Buffer.from(f);
    marker[14] = 2; // the marker protocol, also a slow protocol
    expect(isLacpdu(marker)).toBe(false);
    expect(isLacpdu(f.subarray(0, 60))).toBe(false);
    expect(aggregated(guest.state)).toBe(false);
    expect(aggregated(guest.state | STATE.sync | STATE.collecting)).toBe(false);
    expect(aggregated(guest.state | STATE.sync | STATE.collecting | STATE.distributing)).toBe(true);
  });
});
