// Pure DHCPv6 (RFC 8415) wire format: messages and options to bytes and back; a malformed message gives a reason.

export const DHCP6_TYPES = {
  solicit: 1,
  advertise: 2,
  request: 3,
  confirm: 4,
  renew: 5,
  rebind: 6,
  reply: 7,
  release: 8,
  decline: 9,
  reconfigure: 10,
  'information-request': 11,
  'relay-forw': 12,
  'relay-repl': 13,
} as const;
export type Dhcp6TypeName = keyof typeof DHCP6_TYPES;

export const OPT6 = {
  clientId: 1,
  serverId: 2,
  iaNa: 3,
  iaAddr: 5,
  oro: 6,
  preference: 7,
  elapsedTime: 8,
  statusCode: 13,
  rapidCommit: 14,
  dnsServers: 23,
  domainList: 24,
  bootfileUrl: 59,
} as const;

export const STATUS6 = { success: 0, unspecFail: 1, noAddrsAvail: 2, noBinding: 3, notOnLink: 4, useMulticast: 5, noPrefixAvail: 6 } as const;

export interface Dhcp6Option {
  code: number;
  data: Buffer;
}

export interface Dhcp6Message {
  type: number;
  /** 24-bit transaction id. */
  xid: number;
  options: Dhcp6Option[];
}

export type Decode6Result = { ok: true; msg: Dhcp6Message } | { ok: false; reason: string };

/** Encodes options as code(2) length(2) data. */
export function encodeOptions6(options: readonly Dhcp6Option[]): Buffer {
  return Buffer.concat(
    options.map((o) => {
      if (o.data.length > 0xffff) throw new Error(`DHCPv6 option ${o.code} too long (${o.data.length} bytes)`);
      const head = Buffer.alloc(4);
      head.writeUInt16BE(o.code, 0);
      head.writeUInt16BE(o.data.length, 2);
      return Buffer.concat([head, o.data]);
    }),
  );
}

/** Encodes a client/server message: type(1) xid(3) options. */
export function encodeDhcp6(msg: Dhcp6Message): Buffer {
  const head = Buffer.alloc(4);
  head[0] = msg.type;
  head.writeUIntBE(msg.xid & 0xffffff, 1, 3);
  return Buffer.concat([head, encodeOptions6(msg.options)]);
}

/** Parses an options area; a reason (naming `where` and the offset) when an option runs past the end. */
export function parseOptions6(area: Buffer, where: string): { ok: true; options: Dhcp6Option[] } | { ok: false; reason: string } {
  const options: Dhcp6Option[] = [];
  let off = 0;
  while (off < area.length) {
    if (area.length - off < 4) return { ok: false, reason: `${where}: ${area.length - off} stray byte(s) at offset ${off}, too few for an option header` };
    const code = area.readUInt16BE(off);
    const len = area.readUInt16BE(off + 2);
    if (off + 4 + len > area.length) return { ok: false, reason: `${where}: option ${code} at offset ${off} claims ${len} bytes, only ${area.length - off - 4} left` };
    options.push({ code, data: area.subarray(off + 4, off + 4 + len) });
    off += 4 + len;
  }
  return { ok: true, options };
}

/** Decodes a message from a server (not a relay message); never throws. */
export function decodeDhcp6(buf: Buffer): Decode6Result {
  if (buf.length < 4) return { ok: false, reason: `message too short (${buf.length} bytes, need at least 4)` };
  const type = buf[0]!;
  if (type < 1 || type > 11) return { ok: false, reason: type === 12 || type === 13 ? `a relay message (type ${type}), not for a client` : `unknown message type ${type}` };
  const parsed = parseOptions6(buf.subarray(4), 'options');
  if (!parsed.ok) return parsed;
  return { ok: true, msg: { type, xid: buf.readUIntBE(1, 3), options: parsed.options } };
}

/** The name of a message type, for logs ("ADVERTISE"). */
export function typeName6(type: number): string {
  const e = Object.entries(DHCP6_TYPES).find(([, v]) => v === type);
  return e ? e[0].toUpperCase() : `type ${type}`;
}

/** DUID-LL (RFC 8415 11.4): type 3, hardware type 1 (Ethernet), the link's MAC: stable for the machine's NIC. */
export function duidFromMac(mac: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0, 3, 0, 1]), mac]);
}

/** An option as a 16-bit value. */
export function u16Option(code: number, value: number): Dhcp6Option {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(Math.max(0, Math.min(0xffff, value)), 0);
  return { code, data: b };
}
