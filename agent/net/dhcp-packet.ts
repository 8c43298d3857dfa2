// Pure DHCP (RFC 2131/2132) packet encoder and validating decoder: bytes in, typed message or a reason out.

export const DHCP_MAGIC = 0x63825363;
export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
/** Fixed BOOTP header (236 bytes) plus the magic cookie. */
export const DHCP_HEADER_LEN = 240;

export const DHCP_TYPES = { discover: 1, offer: 2, request: 3, decline: 4, ack: 5, nak: 6, release: 7, inform: 8 } as const;
export type DhcpTypeName = keyof typeof DHCP_TYPES;

/** One BOOTP/DHCP message; options keep their raw bytes, in a map by code (repeated options concatenated, RFC 3396). */
export interface DhcpMessage {
  op: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  chaddr: Buffer; // hlen bytes (6 for Ethernet)
  sname?: string;
  file?: string;
  options: Map<number, Buffer>;
}

export type DecodeResult = { ok: true; msg: DhcpMessage; type: number } | { ok: false; reason: string };

/** Dotted quad of 4 bytes at off. */
export function readIp(buf: Buffer, off = 0): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** The 4 bytes of a dotted quad (throws on a non-IPv4 string: only our own validated values reach it). */
export function ipBytes(ip: string): Buffer {
  const parts = ip.split('.').map((p) => Number(p));
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return Buffer.from(parts);
}

/** Encodes a message (either direction); options are written in map order, then END, padded to 300 bytes as BOOTP wants. */
export function encodeDhcpMessage(msg: DhcpMessage): Buffer {
  const opts: Buffer[] = [];
  for (const [code, value] of msg.options) {
    // RFC 3396: an option longer than 255 bytes is split into several with the same code.
    for (let i = 0; i < Math.max(1, value.length); i += 255) {
      const part = value.subarray(i, i + 255);
      opts.push(Buffer.from([code, part.length]), part);
    }
  }
  opts.push(Buffer.from([255]));
  const body = Buffer.concat(opts);
  const buf = Buffer.alloc(Math.max(300, DHCP_HEADER_LEN + body.length));
  buf[0] = msg.op;
  buf[1] = 1; // htype Ethernet
  buf[2] = msg.chaddr.length;
  buf[3] = 0;
  buf.writeUInt32BE(msg.xid >>> 0, 4);
  buf.writeUInt16BE(msg.secs & 0xffff, 8);
  buf.writeUInt16BE(msg.flags & 0xffff, 10);
  ipBytes(msg.ciaddr).copy(buf, 12);
  ipBytes(msg.yiaddr).copy(buf, 16);
  ipBytes(msg.siaddr).copy(buf, 20);
  ipBytes(msg.giaddr).copy(buf, 24);
  msg.chaddr.copy(buf, 28, 0, Math.min(16, msg.chaddr.length));
  if (msg.sname) buf.write(msg.sname.slice(0, 63), 44, 'latin1');
  if (msg.file) buf.write(msg.file.slice(0, 127), 108, 'latin1');
  buf.writeUInt32BE(DHCP_MAGIC, 236);
  body.copy(buf, DHCP_HEADER_LEN);
  return buf;
}

/** Parses an options area into `into`; returns a reason when it is malformed (runs past its end). */
export function parseOptions(area: Buffer, into: Map<number, Buffer>, where: string): string | undefined {
  let i = 0;
  while (i < area.length) {
    const code = area[i]!;
    if (code === 0) {
      i++;
      continue;
    }
    if (code === 255) return undefined;
    if (i + 1 >= area.length) return `${where}: option ${code} has no length byte`;
    const len = area[i + 1]!;
    if (i + 2 + len > area.length) return `${where}: option ${code} length ${len} runs past the end (${area.length - i - 2} bytes left)`;
    const value = area.subarray(i + 2, i + 2 + len);
    const prev = into.get(code);
    into.set(code, prev ? Buffer.concat([prev, value]) : Buffer.from(value));
    i += 2 + len;
  }
  // No END option: accepted when the last option ended exactly at the end of the area.
  return undefined;
}

function cString(buf: Buffer): string {
  const nul = buf.indexOf(0);
  return buf.subarray(0, nul < 0 ? buf.length : nul).toString('latin1');
}

/** Decodes a BOOTREPLY with full validation; never throws: a bad packet gives { ok: false, reason }. */
export function decodeDhcpPacket(buf: Buffer): DecodeResult {
  if (buf.length < DHCP_HEADER_LEN) return { ok: false, reason: `packet too short (${buf.length} bytes, need at least ${DHCP_HEADER_LEN})` };
  const op = buf[0]!;
  if (op !== BOOTREPLY) return { ok: false, reason: `not a BOOTREPLY (op ${op})` };
  if (buf[1] !== 1 || buf[2] !== 6) return { ok: false, reason: `not Ethernet (htype ${buf[1]}, hlen ${buf[2]})` };
  const cookie = buf.readUInt32BE(236);
  if (cookie !== DHCP_MAGIC) return { ok: false, reason: `wrong magic cookie 0x${cookie.toString(16).padStart(8, '0')}` };
  const options = new Map<number, Buffer>();
  const bad = parseOptions(buf.subarray(DHCP_HEADER_LEN), options, 'options');
  if (bad) return { ok: false, reason: bad };
  let sname: string | undefined = cString(buf.subarray(44, 108));
  let file: string | undefined = cString(buf.subarray(108, 236));
  // Option 52 (overload): the file and/or sname fields carry more options (file first, RFC 2131 4.1).
  const overload = options.get(52);
  if (overload) {
    if (overload.length !== 1 || overload[0]! < 1 || overload[0]! > 3) return { ok: false, reason: `bad overload option 52 (${overload.toString('hex')})` };
    if (overload[0]! & 1) {
      const why = parseOptions(buf.subarray(108, 236), options, 'file field');
      if (why) return { ok: false, reason: why };
      file = undefined;
    }
    if (overload[0]! & 2) {
      const why = parseOptions(buf.subarray(44, 108), options, 'sname field');
      if (why) return { ok: false, reason: why };
      sname = undefined;
    }
  }
  const t = options.get(53);
  if (!t) return { ok: false, reason: 'no DHCP message type (option 53): a plain BOOTP reply' };
  if (t.length !== 1 || t[0]! < 1 || t[0]! > 8) return { ok: false, reason: `bad DHCP message type option (${t.toString('hex')})` };
  const msg: DhcpMessage = {
    op,
    xid: buf.readUInt32BE(4),
    secs: buf.readUInt16BE(8),
    flags: buf.readUInt16BE(10),
    ciaddr: readIp(buf, 12),
    yiaddr: readIp(buf, 16),
    siaddr: readIp(buf, 20),
    giaddr: readIp(buf, 24),
    chaddr: Buffer.from(buf.subarray(28, 34)),
    options,
  };
  if (sname) msg.sname = sname;
  if (file) msg.file = file;
  return { ok: true, msg, type: t[0]! };
}

/** Decodes a BOOTREQUEST (for test servers): the same checks with the op reversed. */
export function decodeDhcpRequest(buf: Buffer): DecodeResult {
  if (buf.length < DHCP_HEADER_LEN) return { ok: false, reason: 'packet too short' };
  if (buf[0] !== BOOTREQUEST) return { ok: false, reason: `not a BOOTREQUEST (op ${buf[0]})` };
  const copy = Buffer.from(buf);
  copy[0] = BOOTREPLY;
  const r = decodeDhcpPacket(copy);
  if (r.ok) r.msg.op = BOOTREQUEST;
  return r;
}

/** Why a decoded reply is not for this client (xid, chaddr), or undefined when it is. */
export function checkReplyFor(msg: DhcpMessage, xid: number, mac: Buffer): string | undefined {
  if (msg.xid !== xid >>> 0) return `wrong xid 0x${msg.xid.toString(16)} (expected 0x${(xid >>> 0).toString(16)})`;
  if (!msg.chaddr.subarray(0, 6).equals(mac.subarray(0, 6))) return `for another client (chaddr ${formatMac(msg.chaddr)})`;
  return undefined;
}

/** aa:bb:cc:dd:ee:ff of the first 6 bytes. */
export function formatMac(mac: Buffer): string {
  return [...mac.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Parses aa:bb:cc:dd:ee:ff into 6 bytes, or undefined. */
export function parseMac(text: string): Buffer | undefined {
  const m = /^([0-9a-f]{2})(?::([0-9a-f]{2})){5}$/i.test(text.trim());
  return m ? Buffer.from(text.trim().split(':').map((h) => parseInt(h, 16))) : undefined;
}
