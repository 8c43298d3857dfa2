// Builds DHCP server replies (OFFER/ACK/NAK) and deliberately broken variants, for unit tests and the hostile test server.

import { BOOTREPLY, DHCP_TYPES, encodeDhcpMessage, ipBytes, type DhcpMessage } from '../../../agent/net/dhcp-packet.js';

export interface ReplySpec {
  type: 'offer' | 'ack' | 'nak';
  xid: number;
  mac: Buffer;
  yiaddr?: string;
  serverId?: string;
  /** Extra options by code (raw bytes). */
  options?: Array<[number, Buffer]>;
}

/** A well-formed reply with server id, mask /24, router and lease time unless overridden. */
export function buildReply(spec: ReplySpec): DhcpMessage {
  const options = new Map<number, Buffer>();
  options.set(53, Buffer.from([DHCP_TYPES[spec.type]]));
  options.set(54, ipBytes(spec.serverId ?? '10.213.0.1'));
  if (spec.type !== 'nak') {
    options.set(51, Buffer.from([0, 0, 0x0e, 0x10]));
    options.set(1, ipBytes('255.255.255.0'));
    options.set(3, ipBytes(spec.serverId ?? '10.213.0.1'));
  }
  for (const [code, value] of spec.options ?? []) options.set(code, value);
  return {
    op: BOOTREPLY,
    xid: spec.xid,
    secs: 0,
    flags: 0x8000,
    ciaddr: '0.0.0.0',
    yiaddr: spec.type === 'nak' ? '0.0.0.0' : spec.yiaddr ?? '10.213.0.50',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: spec.mac,
    options,
  };
}

/** Encoded bytes of buildReply. */
export function encodeReply(spec: ReplySpec): Buffer {
  return encodeDhcpMessage(buildReply(spec));
}

/** The broken variants of a good reply the client must ignore, each with a name. */
export function brokenVariants(good: ReplySpec): Array<{ name: string; bytes: Buffer }> {
  const ok = encodeReply(good);
  const at = (mut: (b: Buffer) => void) => {
    const b = Buffer.from(ok);
    mut(b);
    return b;
  };
  // Options start at 240: 53 01 xx, then 54 04 ... ; make the first option's length run past the end.
  const truncated = Buffer.from(ok.subarray(0, 240 + 3 + 2 + 2));
  const badLength = at((b) => (b[240 + 4] = 250));
  const lenNoValue = Buffer.concat([ok.subarray(0, 240), Buffer.from([53, 1, DHCP_TYPES[good.type], 140])]);
  return [
    { name: 'truncated options', bytes: truncated },
    { name: 'bad option length', bytes: badLength },
    { name: 'option without length byte', bytes: lenNoValue },
    { name: 'wrong xid', bytes: encodeReply({ ...good, xid: (good.xid ^ 0x5a5a5a5a) >>> 0 }) },
    { name: 'wrong magic cookie', bytes: at((b) => b.writeUInt32BE(0xdeadbeef, 236)) },
    { name: 'wrong op', bytes: at((b) => (b[0] = 1)) },
    { name: 'another chaddr', bytes: encodeReply({ ...good, mac: Buffer.from([2, 0, 0, 0, 0, 0x99]) }) },
    { name: 'short packet', bytes: ok.subarray(0, 100) },
    { name: 'no message type', bytes: Buffer.concat([ok.subarray(0, 240), Buffer.from([255])]) },
    { name: 'bad message type', bytes: Buffer.concat([ok.subarray(0, 240), Buffer.from([53, 1, 42, 255])]) },
    { name: 'bad hlen', bytes: at((b) => (b[2] = 16)) },
  ];
}
