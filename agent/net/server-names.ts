// Resolves a server name once (AAAA and A) through the name servers the network gave, as written in resolv.conf.

import { Resolver } from 'node:dns/promises';
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { SiError } from '../errors.js';

export interface ResolvConf {
  servers: string[];
  search: string[];
}

/** Parses resolv.conf's `nameserver` and `search`/`domain` lines (the last search line wins, as in glibc). */
export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { servers: [], search: [] };
  for (const raw of text.split('\n')) {
    const [key, ...rest] = raw.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (key === 'nameserver' && rest[0] && isIP(rest[0])) out.servers.push(rest[0]);
    if ((key === 'search' || key === 'domain') && rest.length > 0) out.search = rest;
  }
  return out;
}

export interface Resolved {
  address: string;
  /** 'AAAA', 'A', or 'hosts' (getaddrinfo: no name server known). */
  record: 'AAAA' | 'A' | 'hosts';
  /** The name that answered (with a search domain) and the server asked. */
  fqdn: string;
  via: string;
}

/** The names to try: as given first when it has a dot, else the search domains first (resolv.conf's ndots:1). */
export function candidateNames(name: string, search: readonly string[]): string[] {
  const bare = name.replace(/\.$/, '');
  if (name.endsWith('.')) return [bare];
  const withSearch = search.map((d) => `${bare}.${d}`);
  return bare.includes('.') ? [bare, ...withSearch] : [...withSearch, bare];
}

/**
 * Resolves name to one address, asking for the families in `families` order (IPv6 first when the install network
 * has it); E_NETWORK says which servers were asked for which names.
 */
export async function resolveServerName(name: string, opts: { resolvConfPath: string; families: Array<4 | 6>; timeoutMs?: number }): Promise<Resolved> {
  const conf = parseResolvConf(await readFile(opts.resolvConfPath, 'utf8').catch(() => ''));
  const families = opts.families.length > 0 ? opts.families : [4, 6];
  if (conf.servers.length === 0) {
    for (const family of families) {
      const r = await lookup(name, { family }).catch(() => undefined);
      if (r) return { address: r.address, record: 'hosts', fqdn: name, via: 'the system resolver' };
    }
    throw new SiError('E_NETWORK', `cannot resolve ${name}: no name server in ${opts.resolvConfPath} and the system resolver has no ${families.map((f) => (f === 6 ? 'IPv6' : 'IPv4')).join(' or ')} address for it`);
  }
  const resolver = new Resolver({ timeout: opts.timeoutMs ?? 2000, tries: 2 });
  resolver.setServers(conf.servers);
  const tried: string[] = [];
  for (const fqdn of candidateNames(name, conf.search)) {
    for (const family of families) {
      const record = family === 6 ? 'AAAA' : 'A';
      try {
        const addrs = family === 6 ? await resolver.resolve6(fqdn) : await resolver.resolve4(fqdn);
        if (addrs[0]) return { address: addrs[0], record, fqdn, via: conf.servers.join(', ') };
      } catch (err) {
        tried.push(`${record} ${fqdn}: ${(err as { code?: string }).code ?? (err as Error).message}`);
      }
    }
  }
  throw new SiError('E_NETWORK', `cannot resolve ${name} through ${conf.servers.join(', ')}`, { details: tried });
}
