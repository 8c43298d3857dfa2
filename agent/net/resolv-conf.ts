// The installer's name servers and search domains: from the parameters, the DHCP lease and DHCPv6, in resolv.conf's order.

import { getString } from '../params/validate.js';
import type { Params } from '../params/types.js';
import { dnsListEntries } from '../params/net-values.js';

/** DNS_SERVERS as a list: space- or comma-separated, an IPv6 address bare or in brackets ([fd00::53], dracut's form). */
export function readDnsServers(params: Params): string[] {
  return dnsListEntries(getString(params, 'DNS_SERVERS') || '');
}

/** What resolv.conf lists: each source's servers and domains in turn, each once. */
export interface ResolvLists {
  servers: string[];
  domains: string[];
}

/**
 * The servers and domains of the installer's resolv.conf, in order: IPv4's (the lease's, or DNS_SERVERS of a static
 * network), IPv6's (DHCPv6), then DNS_SERVERS beside a lease (dracut's nameserver= adds to what DHCP gives).
 */
export function mergeResolvLists(parts: ReadonlyArray<{ servers?: readonly string[]; domains?: readonly (string | undefined)[] }>): ResolvLists {
  const servers = [...new Set(parts.flatMap((p) => p.servers ?? []))];
  const domains = [...new Set(parts.flatMap((p) => (p.domains ?? []).filter((d): d is string => d !== undefined && d !== '')))];
  return { servers, domains };
}

/** The name servers written after a DHCP lease: the lease's, then DNS_SERVERS (dracut's nameserver= adds to DHCP's). */
export function leaseNameServers(leaseDns: readonly string[], params: Params): string[] {
  return mergeResolvLists([{ servers: leaseDns }, { servers: readDnsServers(params) }]).servers;
}
