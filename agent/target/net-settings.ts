// The installed system's identity and network settings from the parameters, validated before any file is written.

import { isIP, isIPv4 } from 'node:net';
import { ParamError, type Problem } from '../errors.js';
import type { Params } from '../params/types.js';
import { isHostName } from '../params/validate.js';
import { classfulPrefix, maskToPrefix, prefixToMask } from '../net/dhcp-values.js';
import { keepNames, type LinkNamer } from './link-namer.js';
import { checkStackKinds, readTargetIpv6, readTargetStack, type BondSettings, type Ipv6Settings, type Renamed, type VlanSettings } from './net-settings-stack.js';

export type { BondSettings, Ipv6Assignment, Ipv6Settings, VlanSettings } from './net-settings-stack.js';

/** The installed system's IPv4: off when the install ran IPv6 only (IPV4_ASSIGNMENT=off) and IP_ASSIGNMENT says nothing. */
export type IpAssignment = 'dhcp' | 'static' | 'replicant' | 'off';

/** Everything the renderers need, already checked. */
export interface NetSettings {
  assignment: IpAssignment;
  /** Short host name (first label), undefined when no HOSTNAME was given. */
  hostname?: string;
  /** Fully qualified name (short + domain), or the short name when there is no domain. */
  fqdn?: string;
  domain?: string;
  /** The install NIC's kernel name in the install environment (eth0; a MAC in DEVICE resolved), or the bond or VLAN. */
  device?: string;
  /** The install NIC's name in the installed system when there is no bond (DEVICE, or the VLAN's parent NIC). */
  nic?: string;
  bond?: BondSettings;
  vlan?: VlanSettings;
  /** MTU of every link in the stack (the NICs, the bond, the VLAN). */
  mtu?: number;
  ipv6: Ipv6Settings;
  /** NICs whose installed name was worked out, for the log. */
  renamed: Renamed[];
  /** IFNAMES: NIC names by MAC that the installed system is told to give too (systemd .link files, ifcfg HWADDR=). */
  ifnames: { name: string; mac: string }[];
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
 * How the installed system gets its IPv4 address. IP_ASSIGNMENT wins; then IPV4_ASSIGNMENT (the installer's: off
 * writes no IPv4); without either, static when IPADDR was given by the operator (command line, local.cfg, script:
 * the install itself ran static), dhcp when IPADDR is absent or came from the DHCP lease.
 */
export function chooseIpAssignment(params: Params): IpAssignment {
  const explicit = value(params, 'IP_ASSIGNMENT')?.toLowerCase();
  if (explicit === 'dhcp' || explicit === 'static' || explicit === 'replicant') return explicit;
  const v4 = value(params, 'IPV4_ASSIGNMENT')?.toLowerCase();
  if (v4 === 'off' || v4 === 'none') return 'off';
  if (v4 === 'dhcp' || v4 === 'static') return v4;
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

/** True when the installed system gets a fixed address in either family (then name servers are written too). */
export function hasStaticAddress(s: NetSettings): boolean {
  return s.assignment === 'static' || s.ipv6.assignment === 'static';
}

/**
 * Reads and checks the settings; throws a ParamError listing every bad value. namer gives the installed names of the
 * NICs (link-namer.ts); the default keeps names and knows no MAC.
 */
export function resolveNetSettings(params: Params, resolvConf = '', namer: LinkNamer = keepNames): NetSettings {
  const problems: Problem[] = checkStackKinds(params);
  const bad = (key: string, message: string) => problems.push({ source: params.get(key)?.source ?? 'default', key, message });
  const assignment = chooseIpAssignment(params);
  const out: NetSettings = { assignment, dns: parseNameservers(resolvConf), ipv6: { assignment: 'off' }, renamed: [], ifnames: [] };
  if (problems.length === 0 && assignment !== 'replicant') {
    const { renamed, ...stack } = readTargetStack(params, namer, problems);
    Object.assign(out, stack, { renamed, ipv6: readTargetIpv6(params, problems) });
    if (assignment === 'off' && out.ipv6.assignment === 'off') bad('IPV4_ASSIGNMENT', 'off with IPV6_ASSIGNMENT=off leaves the installed system without an address');
  }
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
