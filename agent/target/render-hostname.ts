// Host name files of the installed system: /etc/hostname, the 127.0.1.1 line of /etc/hosts, RHEL's HOSTNAME=, resolv.conf.

import type { FileChange } from './file-changes.js';
import { hasStaticAddress, type NetSettings } from './net-settings.js';
import type { TargetView } from './target-view.js';

/** /etc/hosts with its 127.0.1.1 line naming this host (replaced, or added after 127.0.0.1). */
export function renderEtcHosts(text: string, fqdn: string, short: string): string {
  const entry = fqdn === short ? `127.0.1.1\t${short}` : `127.0.1.1\t${fqdn}\t${short}`;
  const lines = text === '' ? ['127.0.0.1\tlocalhost'] : text.replace(/\n$/, '').split('\n');
  const kept = lines.filter((l) => !/^\s*127\.0\.1\.1\s/.test(l));
  const at = kept.findIndex((l) => /^\s*127\.0\.0\.1\s/.test(l));
  kept.splice(at + 1, 0, entry);
  return kept.join('\n') + '\n';
}

/** RHEL /etc/sysconfig/network with HOSTNAME= set (NETWORKING=yes added when missing). */
export function renderSysconfigNetwork(text: string, fqdn: string): string {
  const lines = text.replace(/\n$/, '').split('\n').filter((l) => l !== '' && !/^\s*HOSTNAME=/.test(l));
  if (!lines.some((l) => /^\s*NETWORKING=/.test(l))) lines.unshift('NETWORKING=yes');
  lines.push(`HOSTNAME=${fqdn}`);
  return lines.join('\n') + '\n';
}

/** resolv.conf for a static install: the domain as search, then each name server. */
export function renderResolvConf(dns: readonly string[], domain?: string): string {
  const lines = ['# written by si-agent (SystemImager)'];
  if (domain) lines.push(`search ${domain}`);
  for (const d of dns) lines.push(`nameserver ${d}`);
  return lines.join('\n') + '\n';
}

/** The host name changes: /etc/hostname (short name), /etc/hosts, and RHEL's /etc/sysconfig/network when present. */
export function planHostnameChanges(view: TargetView, s: NetSettings): FileChange[] {
  if (!s.hostname || !s.fqdn) return [];
  const out: FileChange[] = [{ kind: 'write', path: '/etc/hostname', content: `${s.hostname}\n` }];
  out.push({ kind: 'write', path: '/etc/hosts', content: renderEtcHosts(view.read('/etc/hosts') ?? '', s.fqdn, s.hostname) });
  const sysconfig = view.read('/etc/sysconfig/network');
  if (sysconfig !== undefined || view.exists('/etc/sysconfig/network-scripts')) {
    out.push({ kind: 'write', path: '/etc/sysconfig/network', content: renderSysconfigNetwork(sysconfig ?? '', s.fqdn) });
  }
  return out;
}

/**
 * resolv.conf only for static addresses, IPv4 or IPv6 (a DHCP client writes its own at boot), and only when the
 * image's is a regular file or absent: a symlink (systemd-resolved, NetworkManager) is left alone,
 * the servers go into the network configuration instead.
 */
export function planResolvConf(view: TargetView, s: NetSettings): FileChange[] {
  if (!hasStaticAddress(s) || s.dns.length === 0) return [];
  if (view.link('/etc/resolv.conf') !== undefined) return [];
  return [{ kind: 'write', path: '/etc/resolv.conf', content: renderResolvConf(s.dns, s.domain) }];
}
