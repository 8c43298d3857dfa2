// The installed system's identity and network settings from the parameters, validated before any file is written.

import { isIP, isIPv4 } from 'node:net';
import { ParamError, type Problem } from '../errors.js';
import type { Params } from '../params/types.js';
import { isHostName } from '../params/validate.js';
import { classfulPrefix, maskToPrefix, prefixToMask } from '../net/dhcp-values.js';

export type IpAssignment = 'dhcp' | 'static' | 'replicant';

/** Everything the renderers need, already checked. */
export interface NetSettings {
  assignment: IpAssignment;
  /** Short host name (first label), undefined when no HOSTNAME was given. */
  hostname?: string;
  /** Fully qualified name (short + domain), or the short name when there is no domain. */
  fqdn?: string;
  domain?: string;
  /** The install NIC's kernel name in the install environment (eth0). */
  device?: string;
  ip?: string;
  prefix?: number;
  netmask?: string;
  gateway?: string;
  dns: string[];
}

const value = (params: Params, name: string) => {
  const v = params.get(name)?.value;
  return v === undefined || v === '' ? undefined : v;
};

/**
 * How the installed system gets its address. IP_ASSIGNMENT wins; without it, static when
 * IPADDR was given by the operator (command line, local.cfg, script: the install itself
 * ran static), dhcp when IPADDR is absent or came from the DHCP lease.
 */
export function chooseIpAssignment(params: Params): IpAssignment {
  const explicit = value(params, 'IP_ASSIGNMENT')?.toLowerCase();
  if (explicit === 'dhcp' || explicit === 'static' || explicit === 'replicant') return explicit;
  const ip = params.get('IPADDR');
  if (!ip || ip.value === '') return 'dhcp';
  return ip.source === 'dhcp' || ip.source.startsWith('dhcp:') ? 'dhcp' : 'static';
}

/** Name servers from a resolv.conf text (valid IP addresses only, in order). */
export function parseNameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m && isIP(m[1]!) && !out.includes(m[1]!)) out.push(m[1]!);
  }
  return out;
}

/** Reads and checks the settings; throws a ParamError listing every bad value. */
export function resolveNetSettings(params: Params, resolvConf = ''): NetSettings {
  const problems: Problem[] = [];
  const bad = (key: string, message: string) => problems.push({ source: params.get(key)?.source ?? 'default', key, message });
  const assignment = chooseIpAssignment(params);
  const out: NetSettings = { assignment, dns: parseNameservers(resolvConf) };
  const host = value(params, 'HOSTNAME');
  let domain = value(params, 'DOMAINNAME');
  if (domain !== undefined) {
    domain = domain.replace(/\.$/, '');
    if (domain === '' || !isHostName(domain)) bad('DOMAINNAME', `${JSON.stringify(domain)} is not a domain name`);
    else out.domain = domain;
  }
  if (host !== undefined) {
    if (!isHostName(host) || isIP(host)) bad('HOSTNAME', `${JSON.stringify(host)} is not a host name`);
    else {
      const [short, ...rest] = host.replace(/\.$/, '').split('.');
      out.hostname = short!;
      if (!out.domain && rest.length > 0) out.domain = rest.join('.');
      out.fqdn = out.domain ? `${short}.${out.domain}` : short!;
    }
  }
  const device = value(params, 'DEVICE');
  if (device !== undefined) {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(device)) bad('DEVICE', `${JSON.stringify(device)} is not an interface name`);
    else out.device = device;
  }
  const gateway = value(params, 'GATEWAY');
  if (gateway !== undefined) {
    if (!isIPv4(gateway)) bad('GATEWAY', `${JSON.stringify(gateway)} is not an IPv4 address`);
    else out.gateway = gateway;
  }
  if (assignment === 'static') {
    const ip = value(params, 'IPADDR');
    if (ip === undefined || !isIPv4(ip)) bad('IPADDR', ip === undefined ? 'is needed for IP_ASSIGNMENT=static' : `${JSON.stringify(ip)} is not an IPv4 address`);
    else {
      out.ip = ip;
      const mask = value(params, 'NETMASK');
      const prefix = mask === undefined ? classfulPrefix(ip) : maskToPrefix(mask);
      if (prefix === undefined) bad('NETMASK', `${JSON.stringify(mask)} is not a netmask`);
      else {
        out.prefix = prefix;
        out.netmask = prefixToMask(prefix);
      }
    }
  }
  if (problems.length > 0) throw new ParamError(problems);
  return out;
}
