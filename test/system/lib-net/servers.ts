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
