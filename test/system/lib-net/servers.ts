// Starts the DHCP servers the system tests talk to (dnsmasq, ISC dhcpd, the hostile Node server) inside a namespace.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from './netns.js';
import { waitFor } from './netns.js';

export interface Subnet {
  /** First three octets, e.g. "10.213.1". The server is .1, leases .100-.150. */
  net: string;
}

/** dnsmasq serving DHCP only (port=0) on iface, with `--dhcp-option=` values given as dnsmasq spells them. */
export async function startDnsmasq(lab: Lab, ns: string, name: string, iface: string, s: Subnet, options: string[], extra: string[] = []): Promise<void> {
  lab.daemon(ns, name, [
    'dnsmasq',
    '--no-daemon',
    '--conf-file=/dev/null',
    '--port=0',
    '--bind-interfaces',
    `--interface=${iface}`,
    `--dhcp-range=${s.net}.100,${s.net}.150,255.255.255.0,2m`,
    `--dhcp-leasefile=${join(lab.dir, name + '.leases')}`,
    `--pid-file=${join(lab.dir, name + '.pid')}`,
    '--user=root',
    '--log-dhcp',
    '--log-facility=-',
    ...options.map((o) => `--dhcp-option=${o}`),
    ...extra,
  ]);
  await waitFor(() => /DHCP, IP range/.test(lab.log(name)), 10_000, `dnsmasq in ${ns}:\n${lab.log(name)}`);
}

/** ISC dhcpd on iface with the SystemImager option declarations (`code140` picks ip-address or text) and subnet statements. */
export async function startIscDhcpd(lab: Lab, ns: string, name: string, iface: string, s: Subnet, opts: { code140: 'ip-address' | 'text'; statements: string[] }): Promise<void> {
  const conf = join(lab.dir, `${name}.conf`);
  const leases = join(lab.dir, `${name}.leases`);
  writeFileSync(
    conf,
    [
      `option option-140 code 140 = ${opts.code140};`,
      'option option-141 code 141 = unsigned integer 16;',
      'option option-142 code 142 = string;',
      'option option-143 code 143 = unsigned integer 16;',
      'option option-144 code 144 = string;',
      'ddns-update-style none;',
      'authoritative;',
      'default-lease-time 120;',
      'max-lease-time 120;',
      `subnet ${s.net}.0 netmask 255.255.255.0 {`,
      `  range ${s.net}.100 ${s.net}.150;`,
      ...opts.statements.map((l) => `  ${l}`),
      '}',
      '',
    ].join('\n'),
  );
  writeFileSync(leases, '');
  lab.daemon(ns, name, ['dhcpd', '-4', '-f', '-d', '-cf', conf, '-lf', leases, '-pf', join(lab.dir, `${name}.pid`), iface]);
  await waitFor(() => /Server starting service|Sending on/.test(lab.log(name)), 10_000, `dhcpd in ${ns}:\n${lab.log(name)}`);
  await new Promise((r) => setTimeout(r, 300));
}

/** The hostile Node server (bundled hostile-server.ts) on iface: broken replies before each good one, a NAK first. */
export async function startHostile(lab: Lab, ns: string, name: string, bundle: string, cfg: { serverIp: string; offerIp: string; naks: number }): Promise<void> {
  lab.daemon(ns, name, [process.execPath, bundle, JSON.stringify(cfg)]);
  await waitFor(() => /listening/.test(lab.log(name)), 10_000, `hostile server in ${ns}:\n${lab.log(name)}`);
}

export interface Dnsmasq6 {
  /** The /64 served, e.g. "fd42:77:1" (server at ::1). */
  prefix: string;
  /** dhcp6: stateful only (no SLAAC flag); slaac: RA only; dual: also DHCPv4 on `net` (e.g. 10.213.60). */
  mode: 'dhcp6' | 'slaac';
  net?: string;
  /** AAAA/A records served by its DNS (name -> address); with none, DNS is off. */
  hosts?: Record<string, string>;
  domain?: string;
  extra?: string[];
}

/** dnsmasq serving router advertisements and DHCPv6 (and with hosts, DNS with AAAA records) on iface. */
export async function startDnsmasq6(lab: Lab, ns: string, name: string, iface: string, s: Dnsmasq6): Promise<void> {
  const range = s.mode === 'dhcp6' ? `--dhcp-range=${s.prefix}::100,${s.prefix}::1ff,64,2m` : `--dhcp-range=${s.prefix}::,ra-only,64,2m`;
  const dns = s.hosts ? ['--port=53', '--no-resolv', '--no-hosts', ...Object.entries(s.hosts).map(([h, a]) => `--host-record=${h},${a}`), `--dhcp-option=option6:dns-server,[${s.prefix}::1]`] : ['--port=0'];
  lab.daemon(ns, name, [
    'dnsmasq',
    '--no-daemon',
    '--conf-file=/dev/null',
    '--bind-interfaces',
    `--interface=${iface}`,
    '--enable-ra',
    '--ra-param=' + iface + ',4,300', // RAs every 4 s, router lifetime 300 s
    range,
    ...(s.net ? [`--dhcp-range=${s.net}.100,${s.net}.150,255.255.255.0,2m`] : []),
    ...(s.domain ? [`--dhcp-option=option6:domain-search,${s.domain}`] : []),
    ...dns,
    `--dhcp-leasefile=${join(lab.dir, name + '.leases')}`,
    `--pid-file=${join(lab.dir, name + '.pid')}`,
    '--user=root',
    '--log-dhcp',
    '--log-queries',
    '--log-facility=-',
    ...(s.extra ?? []),
  ]);
  await waitFor(() => /router advertisement on|DHCPv6, IP range|stateless DHCPv6|IPv6 router advertisement enabled/.test(lab.log(name)), 10_000, `dnsmasq (IPv6) in ${ns}:\n${lab.log(name)}`);
}
