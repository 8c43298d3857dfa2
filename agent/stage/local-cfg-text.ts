// The local.cfg that `si-agent stage --configure-from IFACE` writes, from the live settings of that interface; pure.

import { networkOf, prefixToMask } from '../net/dhcp-values.js';
import { checkIPv6 } from '../net/ipv6-values.js';
import type { LiveIPv6 } from './live-settings-ipv6.js';

/** What the running system says of the interface (ip, resolv.conf, hostname). */
export interface LiveSettings {
  iface: string;
  mac: string;
  ip?: string;
  prefix?: number;
  gateway?: string;
  nameservers: string[];
  searchDomain?: string;
  hostname?: string;
  /** True when the address was leased by DHCP (ip says `dynamic`). */
  dynamic: boolean;
  /** The interface's global IPv6 address and how it came (live-settings-ipv6.ts). */
  ipv6?: LiveIPv6;
}

/** Single-quotes a value for local.cfg when it has anything beyond plain characters. */
function q(v: string): string {
  return /^[A-Za-z0-9_.:@%+,/-]*$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

/**
 * local.cfg lines (SPEC 2 names) for a reinstall that keeps this machine's identity: HOSTNAME, DOMAINNAME, the
 * interface as DEVICE by MAC (the installer may name it differently), its address as static settings, GATEWAY,
 * DNS and IMAGESERVER. The installed system keeps DHCP when the address was leased (IP_ASSIGNMENT=dhcp). IPv6 as it
 * came (IPV6_ASSIGNMENT auto, dhcp6, or static with IPV6ADDR and IPV6_GATEWAY); no IPv4 address: IPV4_ASSIGNMENT=off.
 */
export function renderLocalCfg(s: LiveSettings, imageServer: string, when: string): string {
  const l: string[] = [`# local.cfg written by si-agent stage on ${when} from the live settings of ${s.iface}`];
  const add = (name: string, value: string | undefined) => {
    if (value !== undefined && value !== '') l.push(`${name}=${q(value)}`);
  };
  if (s.hostname) {
    const [short, ...rest] = s.hostname.split('.');
    add('HOSTNAME', short);
    add('DOMAINNAME', rest.length > 0 ? rest.join('.') : s.searchDomain);
  } else add('DOMAINNAME', s.searchDomain);
  add('DEVICE', s.mac.toLowerCase());
  if (s.ip && s.prefix !== undefined) {
    add('IP_ASSIGNMENT', s.dynamic ? 'dhcp' : 'static');
    add('IPADDR', s.ip);
    add('NETMASK', prefixToMask(s.prefix));
    const { network, broadcast } = networkOf(s.ip, s.prefix);
    add('NETWORK', network);
    add('BROADCAST', broadcast);
  }
  add('GATEWAY', s.gateway);
  if (!s.ip && s.ipv6) add('IPV4_ASSIGNMENT', 'off');
  if (s.ipv6) {
    add('IPV6_ASSIGNMENT', s.ipv6.assignment);
    if (s.ipv6.assignment === 'static') {
      add('IPV6ADDR', `${s.ipv6.address}/${s.ipv6.prefix}`);
      // The installer refuses a link-local IPV6_GATEWAY (it needs a zone): said in the file for whoever edits it.
      if (s.ipv6.gateway && checkIPv6(s.ipv6.gateway, false) === undefined) add('IPV6_GATEWAY', s.ipv6.gateway);
      else if (s.ipv6.gateway) l.push(`# IPV6_GATEWAY not written: the default router ${s.ipv6.gateway} is link-local; give its global address here`);
    }
  }
  if (s.nameservers.length > 0) add('DNS_SERVERS', s.nameservers.join(' '));
  add('IMAGESERVER', imageServer);
  return l.join('\n') + '\n';
}
