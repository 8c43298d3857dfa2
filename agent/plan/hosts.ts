// The image server's `scripts/hosts` file (/etc/hosts format) and the lookup of this client's name by IP.

import { isIP } from 'node:net';
import type { Problem } from '../errors.js';
import { clipForMessage, isSafeName, shortHostname } from './hostname.js';

/** One usable line of a hosts file. */
export interface HostEntry {
  ip: string; // as written
  names: string[]; // canonical name first, then aliases; only safe names
  line: number; // 1-based line number in the file
}

/** A parsed hosts file: usable lines plus every line or name that was skipped, and why. */
export interface HostsFile {
  entries: HostEntry[];
  problems: Problem[];
}

/** Parses /etc/hosts text: `#` comments, blank lines, IPv4/IPv6, several names per line; bad lines become problems. */
export function parseHostsFile(text: string, source: string): HostsFile {
  const entries: HostEntry[] = [];
  const problems: Problem[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n|\r/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const where = `${source}:${lineNo}`;
    const hash = raw.indexOf('#');
    const body = (hash < 0 ? raw : raw.slice(0, hash)).trim();
    if (body === '') return;
    const [ip, ...names] = body.split(/\s+/) as [string, ...string[]];
    if (isIP(ip) === 0) {
      problems.push({ source: where, key: 'address', message: `${clipForMessage(ip)} is not an IPv4 or IPv6 address; line skipped` });
      return;
    }
    if (names.length === 0) {
      problems.push({ source: where, key: ip, message: 'no host name after the address; line skipped' });
      return;
    }
    // The first name is the one BOEL takes: when it is unusable the whole line is
    // skipped, so an alias never silently stands in for the real name.
    if (!isSafeName(names[0]!)) {
      problems.push({ source: where, key: ip, message: `host name ${clipForMessage(names[0]!)} is not a valid name; line skipped` });
      return;
    }
    const good: string[] = [];
    for (const n of names) {
      if (isSafeName(n)) good.push(n);
      else problems.push({ source: where, key: ip, message: `alias ${clipForMessage(n)} is not a valid name; alias ignored` });
    }
    entries.push({ ip, names: good, line: lineNo });
  });
  return { entries, problems };
}

/** Finds this client's hostname: exact IP match (first matching line), first name, domain part removed. */
export function findHostnameByIp(entries: readonly HostEntry[], ip: string): string | undefined {
  const want = normalizeIp(ip);
  if (want === undefined) return undefined;
  const hit = entries.find((e) => normalizeIp(e.ip) === want);
  return hit === undefined ? undefined : shortHostname(hit.names[0]!);
}

/**
 * Canonical text of an address, so `::1` equals `0:0:0:0:0:0:0:1` and case does
 * not matter in IPv6; IPv4 compares as written (exact: 10.0.0.1 is not 10.0.0.10).
 * Zone ids (`fe80::1%eth0`) are dropped; undefined when not an address.
 */
export function normalizeIp(ip: string): string | undefined {
  const bare = ip.trim();
  const kind = isIP(bare);
  if (kind === 4) return bare;
  if (kind !== 6) return undefined;
  return expandIpv6(bare.replace(/%.*$/, '').toLowerCase());
}

function expandIpv6(addr: string): string {
  let text = addr;
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two hex groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => parseInt(g, 16).toString(16)).join(':');
}
