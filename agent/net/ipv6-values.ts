// IPv6 values: checking and reading addresses and prefixes (pure), the kinds the parameters and DHCPv6 hand over.

import { isIPv6 } from 'node:net';

export interface IPv6Prefix {
  address: string;
  prefix: number;
}

/** Why a value is not an IPv6 address (withPrefix: `addr/len`, len 1-128), or undefined when it is one. */
export function checkIPv6(value: string, withPrefix: boolean): string | undefined {
  if (withPrefix) {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(value);
    if (!m) return 'is not an IPv6 address with a prefix length (e.g. fd42:77::10/64)';
    const len = Number(m[2]);
    if (len < 1 || len > 128) return `has a prefix length of ${len}, not 1-128`;
    return checkIPv6(m[1]!, false);
  }
  if (value.includes('%')) return 'is an IPv6 address with a zone (%...): give the global address';
  if (!isIPv6(value)) return 'is not an IPv6 address';
  const kind = classifyIPv6(value);
  return kind === 'global' || kind === 'ula' ? undefined : `is a ${kind} IPv6 address, not one a host can use`;
}

/** Reads `addr/len` (already checked) into its parts. */
export function parseIPv6Prefix(value: string): IPv6Prefix | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(value);
  if (!m || checkIPv6(value, true) !== undefined) return undefined;
  return { address: m[1]!, prefix: Number(m[2]) };
}

/** The 16 bytes of an IPv6 address (throws on a bad one: callers check first). */
export function ipv6Bytes(addr: string): Buffer {
  if (!isIPv6(addr)) throw new Error(`not an IPv6 address: ${addr}`);
  let text = addr;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(Number.parseInt(g, 16), i * 2));
  return out;
}

/** The canonical text (RFC 5952: lower case, longest zero run as ::) of 16 bytes. */
export function formatIPv6(b: Buffer, off = 0): string {
  const g = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(off + i * 2));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Canonical form of an IPv6 address text (so fd42:0077::0010 and fd42:77::10 compare equal). */
export function normalizeIPv6(addr: string): string {
  return formatIPv6(ipv6Bytes(addr));
}

export type IPv6Kind = 'unspecified' | 'loopback' | 'multicast' | 'link-local' | 'ipv4-mapped' | 'ula' | 'global';

/** What kind of address this is (by its leading bits). */
export function classifyIPv6(addr: string | Buffer): IPv6Kind {
  const b = typeof addr === 'string' ? ipv6Bytes(addr) : addr;
  if (b.every((x) => x === 0)) return 'unspecified';
  if (b.subarray(0, 15).every((x) => x === 0) && b[15] === 1) return 'loopback';
  if (b[0] === 0xff) return 'multicast';
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'link-local';
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return 'ipv4-mapped';
  if ((b[0]! & 0xfe) === 0xfc) return 'ula';
  return 'global';
}

/** `[addr]` for an IPv6 literal, the value as it is otherwise (host:port strings, URLs). */
export function bracketHost(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}
