// Builds rsync:// URLs from checked parts: names from the server or parameters never reach rsync unvalidated.

import { SiError } from '../../errors.js';

const NAME = /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/; // a link-local one with its zone (the DHCPv6 server's, fe80::1%eth0)

/** True for a safe module/override/image name: letters, digits, `._+-`, no leading dot or dash, no `..`. */
export function isSafeName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && NAME.test(name) && !name.includes('..');
}

/** Throws E_SERVER naming the kind of thing when name is not safe to use as an rsync path element. */
export function checkName(name: string, what: string): string {
  if (!isSafeName(name)) {
    throw new SiError('E_SERVER', `refusing ${what} name ${JSON.stringify(name)}: only letters, digits and ._+- are allowed, not first . or -, no ..`);
  }
  return name;
}

/** Checks a module path such as `scripts/`, `img/etc/systemimager/autoinstallscript.conf`: every element a safe name. */
export function checkModulePath(src: string): string {
  const parts = src.split('/');
  const trailing = parts[parts.length - 1] === '' ? parts.pop() : undefined;
  if (parts.length === 0) throw new SiError('E_SERVER', `refusing empty rsync path ${JSON.stringify(src)}`);
  parts.forEach((p, i) => checkName(p, i === 0 ? 'rsync module' : 'rsync path element'));
  return parts.join('/') + (trailing === undefined ? '' : '/');
}

/** Checks the server: a host name, an IPv4 address, or an IPv6 address (bracketed for the URL). */
export function formatHost(server: string): string {
  if (HOSTNAME.test(server)) return server;
  const bare = server.replace(/^\[(.*)\]$/, '$1');
  if (bare.includes(':') && IPV6.test(bare)) return `[${bare}]`;
  throw new SiError('E_PARAM', `image server ${JSON.stringify(server)} is not a host name or IP address`);
}

/** Checks a TCP port (default 873 for the rsync daemon). */
export function checkPort(port: number | undefined): number {
  const p = port ?? 873;
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new SiError('E_PARAM', `rsync port ${String(port)} is not a port (1-65535)`);
  return p;
}

/** `rsync://server:port/path` with every part checked; an empty path gives the module list URL. */
export function rsyncUrl(server: string, port: number | undefined, modulePath = ''): string {
  const host = formatHost(server);
  const p = checkPort(port);
  return `rsync://${host}:${p}/${modulePath === '' ? '' : checkModulePath(modulePath)}`;
}
