// Name servers and search domains from router advertisements (RDNSS and DNSSL, RFC 8106), for a link configured by
// SLAAC alone: the kernel makes the address and the route from an RA but hands these options to user space, and Node
// has no raw ICMPv6 socket. rdisc6 (Debian's ndisc6) solicits a router and prints the advertisement it gets.

import type { Runner } from '../exec/runner.js';
import { toolPath } from '../exec/tools.js';
import type { Reporter } from '../report/events.js';
import { isHostName } from '../params/validate.js';
import { checkIPv6, normalizeIPv6 } from './ipv6-values.js';

export interface RaDns {
  dns: string[];
  domains: string[];
  /** The router that answered (link-local), when rdisc6 named it. */
  router?: string;
  /** Entries left out, each with why (a lifetime of 0 withdraws one; a malformed one is not used). */
  skipped: string[];
}

/**
 * The RDNSS and DNSSL entries in rdisc6's report of one advertisement (pure): ` Recursive DNS server : ADDR` and
 * ` DNS search list : NAME...`, each followed by its lifetime line; an entry whose lifetime is 0 is withdrawn.
 */
export function parseRdisc6(text: string): RaDns {
  const out: RaDns = { dns: [], domains: [], skipped: [] };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*(Recursive DNS server|DNS search list)\s*:\s*(.*?)\s*$/.exec(lines[i]!);
    if (!m) {
      const from = /^\s*from (\S+)\s*$/.exec(lines[i]!);
      if (from) out.router = from[1];
      continue;
    }
    const life = /^\s*(?:DNS server lifetime|DNS search list lifetime)\s*:\s*(\d+)/.exec(lines[i + 1] ?? '');
    const values = m[2]!.split(/\s+/).filter(Boolean);
    if (life && Number(life[1]) === 0) {
      out.skipped.push(...values.map((v) => `${v} (lifetime 0: withdrawn)`));
      continue;
    }
    for (const v of values) {
      if (m[1] === 'Recursive DNS server') {
        if (checkIPv6(v, false) === undefined) {
          const a = normalizeIPv6(v);
          if (!out.dns.includes(a)) out.dns.push(a);
        } else out.skipped.push(`${v} (not an IPv6 address)`);
      } else if (isHostName(v)) {
        const d = v.replace(/\.$/, '').toLowerCase();
        if (!out.domains.includes(d)) out.domains.push(d);
      } else out.skipped.push(`${v} (not a domain name)`);
    }
  }
  return out;
}

/**
 * Asks the link's router for its advertisement and reads the name servers and search domains in it; empty lists when
 * rdisc6 is missing or no router answers (a warning says so: names then resolve only through other sources).
 */
export async function raDns(iface: string, run: Runner, report: Reporter): Promise<RaDns> {
  // -1: the first advertisement; -n: numeric; three solicitations a second apart.
  const none = (why: string): RaDns => {
    report.warn(`IPv6 on ${iface}: no name servers from router advertisements (${why})`);
    return { dns: [], domains: [], skipped: [] };
  };
  let r;
  try {
    r = await run(toolPath('rdisc6'), ['-1', '-n', '-r', '3', '-w', '1000', iface], { timeout: 8000, allowFail: true });
  } catch (err) {
    return none((err as Error).message);
  }
  if (r.code !== 0) return none(r.stderr.trim().split('\n').at(-1) || r.stdout.trim().split('\n').at(-1) || `rdisc6 exit code ${String(r.code)}`);
  const d = parseRdisc6(r.stdout);
  if (d.skipped.length > 0) report.warn(`IPv6 on ${iface}: router advertisement entries not used: ${d.skipped.join(', ')}`);
  report.info(`IPv6 on ${iface}: router advertisement${d.router ? ` from ${d.router}` : ''}: name servers ${d.dns.join(', ') || 'none'}${d.domains.length ? `, search ${d.domains.join(' ')}` : ''}`);
  return d;
}
