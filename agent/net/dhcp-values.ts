// Pure decoders for DHCP option values (addresses, integers, text), each validating what it returns.

import { isIPv4 } from 'node:net';
import { readIp } from './dhcp-packet.js';
import { isHostName } from '../params/validate.js';

export type Decoded<T> = { ok: true; value: T; form: string } | { ok: false; reason: string };

/** A list of IPv4 addresses (length a multiple of 4, at least one). */
export function decodeIpList(buf: Buffer): Decoded<string[]> {
  if (buf.length === 0 || buf.length % 4 !== 0) return { ok: false, reason: `length ${buf.length} is not a multiple of 4` };
  const out: string[] = [];
  for (let i = 0; i < buf.length; i += 4) out.push(readIp(buf, i));
  return { ok: true, value: out, form: 'ip-address' };
}

/** Exactly one IPv4 address (4 bytes). */
export function decodeIp(buf: Buffer): Decoded<string> {
  if (buf.length !== 4) return { ok: false, reason: `length ${buf.length}, an address has 4 bytes` };
  return { ok: true, value: readIp(buf), form: 'ip-address' };
}

/**
 * Text of an option: trailing NULs (some servers count the C terminator) and
 * surrounding blanks dropped; control characters refused, since the value ends
 * up in parameters, logs and files.
 */
export function decodeText(buf: Buffer): Decoded<string> {
  let end = buf.length;
  while (end > 0 && buf[end - 1] === 0) end--;
  const text = buf.subarray(0, end).toString('utf8').trim();
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f\ufffd]/.test(text)) return { ok: false, reason: `text contains control or invalid bytes (${buf.toString('hex').slice(0, 64)})` };
  return { ok: true, value: text, form: 'text' };
}

/**
 * An unsigned integer: 1, 2 or 4 bytes big-endian (ISC dhcpd sends what the
 * declaration says; dnsmasq sends the smallest width that holds the number), or
 * decimal digits as text (a site option declared as `text`).
 */
export function decodeUint(buf: Buffer): Decoded<number> {
  if (buf.length === 1) return { ok: true, value: buf[0]!, form: 'uint8' };
  if (buf.length === 2) return { ok: true, value: buf.readUInt16BE(0), form: 'uint16' };
  if (buf.length === 4) return { ok: true, value: buf.readUInt32BE(0), form: 'uint32' };
  const t = decodeText(buf);
  if (t.ok && /^\d{1,10}$/.test(t.value)) return { ok: true, value: Number(t.value), form: 'text' };
  return { ok: false, reason: `length ${buf.length} is not an integer of 1, 2 or 4 bytes nor decimal text` };
}

/**
 * A port: decodeUint in 1-65535. A 4-byte value that is out of range as a number
 * but is decimal text ("5140" from a `text` declaration) is read as text; a 2-byte
 * text port ("80") cannot be told from binary and is read as binary.
 */
export function decodePort(buf: Buffer): Decoded<string> {
  let n = decodeUint(buf);
  if (n.ok && n.value > 65535) {
    const t = decodeText(buf);
    if (t.ok && /^\d{1,5}$/.test(t.value)) n = { ok: true, value: Number(t.value), form: 'text' };
  }
  if (!n.ok) return n;
  if (n.value < 1 || n.value > 65535) return { ok: false, reason: `${n.value} is not a port (1-65535)` };
  return { ok: true, value: String(n.value), form: n.form };
}

export function strictIPv4(s: string): boolean {
  return isIPv4(s) && !/(^|\.)0\d/.test(s);
}

/** Colon-separated hex octets ("0a:00:00:01", "a:0:0:1") as bytes, or undefined. */
export function parseColonHex(s: string): Buffer | undefined {
  if (!/^[0-9a-f]{1,2}(:[0-9a-f]{1,2})+$/i.test(s)) return undefined;
  return Buffer.from(s.split(':').map((h) => parseInt(h, 16)));
}

/**
 * A server address as SystemImager sites send option 140 (and the old option 100):
 * - 4 bytes: an IPv4 address (`code 140 = ip-address`, the documented declaration).
 *   A 4-byte payload is always read this way, so a 4-letter host name sent as text is
 *   misread; send names of other lengths, or an address.
 * - text holding a dotted quad (`code 140 = text` or `string`, dnsmasq `140,"10.0.0.1"`),
 *   with NULs, blanks and surrounding double quotes dropped;
 * - text holding colon hex: 4 octets are the address ("0a:00:00:01", the form dhclient
 *   prints for an undeclared option and admins paste back in quotes), other lengths are
 *   the hex of ASCII text holding a dotted quad or name ("31:30:2e:...");
 * - text holding a host name (RFC 1123).
 * Anything else is refused with a reason.
 */
export function decodeServerAddress(buf: Buffer): Decoded<string> {
  if (buf.length === 4) return { ok: true, value: readIp(buf), form: 'ip-address' };
  const t = decodeText(buf);
  if (!t.ok) return t;
  const text = t.value.replace(/^"(.*)"$/, '$1').trim();
  if (strictIPv4(text)) return { ok: true, value: text, form: 'text (dotted quad)' };
  const hex = parseColonHex(text);
  if (hex?.length === 4) return { ok: true, value: readIp(hex), form: 'text (colon hex)' };
  if (hex) {
    const inner = decodeText(hex);
    if (inner.ok && (strictIPv4(inner.value) || isHostName(inner.value))) return { ok: true, value: inner.value, form: 'text (colon hex of text)' };
    return { ok: false, reason: `colon hex ${JSON.stringify(text.slice(0, 64))} is neither 4 octets nor the text of an address` };
  }
  if (/^[\d.]+$/.test(text)) return { ok: false, reason: `${JSON.stringify(text)} is not an IPv4 address` };
  if (text !== '' && isHostName(text)) return { ok: true, value: text, form: 'text (host name)' };
  return { ok: false, reason: `${JSON.stringify(text.slice(0, 64))} is neither an IPv4 address nor a host name` };
}

/** A host name (option 12), or with firstWord the first name of a domain search list some servers put in option 15. */
export function decodeName(buf: Buffer, firstWord = false): Decoded<string> {
  const t = decodeText(buf);
  if (!t.ok) return t;
  const word = firstWord ? t.value.split(/\s+/)[0] ?? '' : t.value;
  if (word === '' || !isHostName(word)) return { ok: false, reason: `${JSON.stringify(t.value.slice(0, 64))} is not a host name` };
  return { ok: true, value: word.replace(/\.$/, ''), form: 'text' };
}

/** Prefix length of a contiguous netmask, or undefined. */
export function maskToPrefix(mask: string): number | undefined {
  if (!strictIPv4(mask)) return undefined;
  const n = mask.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const bits = n.toString(2).padStart(32, '0');
  return /^1*0*$/.test(bits) ? bits.indexOf('0') === -1 ? 32 : bits.indexOf('0') : undefined;
}

/** Dotted netmask of a prefix length. */
export function prefixToMask(prefix: number): string {
  const n = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/** Network and broadcast addresses of ip/prefix (dotted quads). */
export function networkOf(ip: string, prefix: number): { network: string; broadcast: string } {
  const n = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const net = (n & mask) >>> 0;
  const dot = (x: number) => [24, 16, 8, 0].map((s) => (x >>> s) & 255).join('.');
  return { network: dot(net), broadcast: dot((net | (~mask >>> 0)) >>> 0) };
}

/** Classful prefix of an address (A /8, B /16, C /24): the RFC 2132 fallback when no mask is sent. */
export function classfulPrefix(ip: string): number {
  const first = Number(ip.split('.')[0]);
  return first < 128 ? 8 : first < 192 ? 16 : 24;
}
