// LACP (IEEE 802.1AX, Linux bonding mode 802.3ad) as the boot tests' userspace switch speaks it: the switch is the
// partner of the guest's bond, so a bond that needs a partner aggregates as on a data-centre switch. Pure functions
// on frames: is this an LACPDU, what does it say, and the switch's answer to it.
//
// An LACPDU: destination 01:80:c2:00:00:02, EtherType 0x8809 (slow protocols), subtype 1, version 1, then the actor
// and partner information (TLV 1 and 2, 20 bytes each), the collector (TLV 3, 16 bytes), the terminator and padding:
// 110 bytes after the EtherType.

export const SLOW_PROTOCOLS = 0x8809;
const LACP_MAC = Buffer.from([0x01, 0x80, 0xc2, 0x00, 0x00, 0x02]);

/** The actor state bits. */
export const STATE = { activity: 0x01, shortTimeout: 0x02, aggregation: 0x04, sync: 0x08, collecting: 0x10, distributing: 0x20, defaulted: 0x40, expired: 0x80 } as const;

/** One side's information in an LACPDU. */
export interface LacpInfo {
  systemPriority: number;
  system: string; // MAC, aa:bb:cc:dd:ee:ff
  key: number;
  portPriority: number;
  port: number;
  state: number;
}

const macOf = (b: Buffer): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
const macBytes = (m: string): Buffer => Buffer.from(m.split(':').map((x) => parseInt(x, 16)));

function readInfo(b: Buffer, at: number): LacpInfo {
  return {
    systemPriority: b.readUInt16BE(at),
    system: macOf(b.subarray(at + 2, at + 8)),
    key: b.readUInt16BE(at + 8),
    portPriority: b.readUInt16BE(at + 10),
    port: b.readUInt16BE(at + 12),
    state: b[at + 14]!,
  };
}

function writeInfo(b: Buffer, at: number, type: number, i: LacpInfo): void {
  b[at] = type;
  b[at + 1] = 20;
  b.writeUInt16BE(i.systemPriority, at + 2);
  macBytes(i.system).copy(b, at + 4);
  b.writeUInt16BE(i.key, at + 10);
  b.writeUInt16BE(i.portPriority, at + 12);
  b.writeUInt16BE(i.port, at + 14);
  b[at + 16] = i.state;
}

/** True for an untagged LACPDU (slow protocols, subtype 1). */
export function isLacpdu(frame: Buffer): boolean {
  return frame.length >= 14 + 110 && frame.readUInt16BE(12) === SLOW_PROTOCOLS && frame[14] === 1;
}

/** The actor and partner information of an LACPDU (the frame must be one: isLacpdu). */
export function parseLacpdu(frame: Buffer): { source: string; actor: LacpInfo; partner: LacpInfo } {
  // After the EtherType: subtype, version, then TLV 1 (type, length, 18 bytes of information) and TLV 2.
  return { source: macOf(frame.subarray(6, 12)), actor: readInfo(frame, 14 + 4), partner: readInfo(frame, 14 + 24) };
}

/** An LACPDU from `self` (the switch's port) about `partner` (the guest's actor as last heard), from MAC `source`. */
export function lacpdu(source: string, self: LacpInfo, partner: LacpInfo): Buffer {
  const b = Buffer.alloc(14 + 110);
  LACP_MAC.copy(b, 0);
  macBytes(source).copy(b, 6);
  b.writeUInt16BE(SLOW_PROTOCOLS, 12);
  b[14] = 1; // subtype LACP
  b[15] = 1; // version
  writeInfo(b, 16, 1, self);
  writeInfo(b, 36, 2, partner);
  b[56] = 3; // collector information, max delay 0
  b[57] = 16;
  return b; // terminator (type 0, length 0) and the reserved bytes are zero
}

/** A port is aggregated when its actor says it is in sync, collecting and distributing. */
export function aggregated(state: number): boolean {
  const want = STATE.sync | STATE.collecting | STATE.distributing;
  return (state & want) === want;
}
