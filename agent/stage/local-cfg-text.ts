// The local.cfg that `si-agent stage --configure-from IFACE` writes, from the live settings of that interface; pure.

import { networkOf, prefixToMask } from '../net/dhcp-values.js';

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
}

/** Single-quotes a value for local.cfg when it has anything beyond plain characters. */
function q(v: string): string {
  return /^[A-Za-z0-9_.:@%+,/-]*$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

/**
 * local.cfg lines (SPEC 2 names) for a reinstall that keeps this machine's identity: HOSTNAME, DOMAINNAME, the
 * interface as DEVICE by MAC (the installer may name it differently), its address as static settings, GATEWAY,
 * DNS and IMAGESERVER. The installed system keeps DHCP when the address was leased (IP_ASSIGNMENT=dhcp).
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
  if (s.nameservers.length > 0) add('DNS_SERVERS', s.nameservers.join(' '));
  add('IMAGESERVER', imageServer);
  return l.join('\n') + '\n';
}
