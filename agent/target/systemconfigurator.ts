// SystemConfigurator in the image: its stdin config and its argv (it then does hardware, network and boot itself).

import type { NetSettings } from './net-settings.js';
import { firstExisting, type TargetView } from './target-view.js';

/** The image's systemconfigurator (/usr/bin or /usr/sbin, also /sbin and /bin), or undefined. */
export function findSystemConfigurator(view: TargetView): string | undefined {
  return firstExisting(view, ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].map((d) => `${d}/systemconfigurator`));
}

/**
 * The config read from stdin: [NETWORK] HOSTNAME/DOMAINNAME/GATEWAY and [INTERFACE0]
 * DEVICE/TYPE/IPADDR/NETMASK. For replicant both sections are left out so SystemConfigurator
 * keeps the image's network settings.
 */
export function renderScConfig(s: NetSettings, nic: string | undefined): string {
  if (s.assignment === 'replicant') return '';
  const l = ['[NETWORK]'];
  if (s.hostname) l.push(`HOSTNAME = ${s.hostname}`);
  if (s.domain) l.push(`DOMAINNAME = ${s.domain}`);
  if (s.gateway) l.push(`GATEWAY = ${s.gateway}`);
  // SystemConfigurator knows IPv4 dhcp and static only: with IPv4 off it is given no interface.
  if (nic && s.assignment !== 'off') {
    l.push('', '[INTERFACE0]', `DEVICE = ${nic}`, `TYPE = ${s.assignment}`);
    if (s.assignment === 'static') l.push(`IPADDR = ${s.ip}`, `NETMASK = ${s.netmask}`);
  }
  return l.join('\n') + '\n';
}

/** systemconfigurator's arguments (SPEC 10; for replicant the stdin config simply has no network sections). */
export const SC_ARGS: readonly string[] = ['--confighw', '--confignet', '--configboot', '--runboot', '--stdin'];
