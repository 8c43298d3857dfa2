// The table of installation parameters (SPEC 2): canonical 4.3 names, 4.9 `si.*` aliases, kinds and defaults.

import { NET_PARAMS } from './net-names.js';
import type { ParamKind, ParamSpec } from './param-spec.js';

export type { ParamKind, ParamSpec } from './param-spec.js';

const p = (name: string, kind: ParamKind, doc: string, extra: Partial<ParamSpec> = {}): ParamSpec => ({ name, kind, aliases: [], doc, ...extra });

/** Every parameter the agent knows, in SPEC order. */
export const PARAMS: readonly ParamSpec[] = [
  p('IMAGESERVER', 'host', 'image server host name or IP', { aliases: ['si.image-server'] }),
  p('IMAGENAME', 'string', 'image to install', { aliases: ['si.image-name'] }),
  p('SCRIPTNAME', 'string', 'autoinstall script to use', { aliases: ['si.script-name'] }),
  p('HOSTNAME', 'host', 'client host name'),
  p('DOMAINNAME', 'host', 'client domain name'),
  p('BASE_HOSTNAME', 'string', 'HOSTNAME cut at its first digit or dot'),
  p('GROUPNAMES', 'string', 'groups of this host (cluster.txt)'),
  p('GROUP_OVERRIDES', 'string', 'overrides of the groups of this host (cluster.txt)'),
  p('OVERRIDES', 'string', 'override directories, applied in order'),
  p('DEVICE', 'string', 'install network interface', { aliases: ['si.install-iface'] }),
  p('IP_ASSIGNMENT', 'enum', 'how the installed system gets its address', { aliases: ['IP_ASSIGNMENT_METHOD'], values: ['dhcp', 'static', 'replicant'] }),
  p('IPADDR', 'ip', 'static IP address'),
  p('NETMASK', 'ip', 'static netmask'),
  p('NETWORK', 'ip', 'static network address'),
  p('BROADCAST', 'ip', 'static broadcast address'),
  p('GATEWAY', 'ip', 'default gateway'),
  p('GATEWAYDEV', 'string', 'interface of the default gateway'),
  p('DNS_SERVERS', 'dnslist', 'name servers, IPv4 or IPv6 (bare or [in brackets]), space- or comma-separated (si-agent stage writes it)'),
  p('IPV4_ASSIGNMENT', 'enum', "the installer's IPv4: dhcp, static (IPADDR) or off (IPv6 only); unset: static when IPADDR is set, else DHCP", { aliases: ['si.ipv4'], values: ['dhcp', 'static', 'off'], synonyms: { none: 'off' } }),
  p('IPV6_ASSIGNMENT', 'enum', "the installer's IPv6: auto (SLAAC from router advertisements), dhcp6 (stateful DHCPv6), static (IPV6ADDR) or off", {
    aliases: ['si.ipv6'],
    default: 'off',
    values: ['auto', 'dhcp6', 'static', 'off'],
    synonyms: { slaac: 'auto', auto6: 'auto', dhcpv6: 'dhcp6', none: 'off' },
  }),
  p('IPV6ADDR', 'ip6prefix', 'static IPv6 address with its prefix length (fd42:77::10/64)', { aliases: ['si.ipv6-addr'] }),
  p('IPV6_GATEWAY', 'ip6', 'IPv6 default gateway (static; else from router advertisements)', { aliases: ['si.ipv6-gateway'] }),
  ...NET_PARAMS,
  p('ETHER_SLEEP', 'uint', 'seconds to wait before DHCP', { default: '0' }),
  p('LOG_SERVER', 'host', 'remote syslog server'),
  p('LOG_SERVER_PORT', 'port', 'remote syslog port', { aliases: ['si.log-server-port'], default: '514' }),
  p('MONITOR_SERVER', 'host', 'monitor daemon host', { aliases: ['si.monitor-server'] }),
  p('MONITOR_PORT', 'port', 'monitor daemon port', { aliases: ['si.monitor-port'], default: '8181' }),
  p('MONITOR_CONSOLE', 'bool', 'also stream the console log to the monitor', { aliases: ['si.monitor-console'], default: 'no' }),
  p('TMPFS_STAGING', 'bool', 'stage the image in RAM, then copy it to disk', { aliases: ['si.tmpfs-staging'], default: 'no' }),
  p('SSH', 'bool', 'client-driven SSH tunnel', { aliases: ['si.ssh-client'], default: 'n' }),
  p('SSH_USER', 'string', 'user for the SSH tunnel', { aliases: ['si.ssh-user'], default: 'root' }),
  p('SSH_HOST_KEY', 'string', "pin the image server's SSH host key (SHA256:... as ssh-keygen -lf prints it)", { aliases: ['si.ssh-host-key'] }),
  p('SSHD', 'bool', 'server-driven SSH install', { aliases: ['si.ssh-server'], default: 'n' }),
  p('SSHD_WAIT', 'uint', "seconds to wait for the image server's push (none: forever)"),
  p('SSH_DOWNLOAD_URL', 'string', 'where to fetch authorized_keys (implies SSH=y)', { aliases: ['si.ssh-download-url'] }),
  p('FLAMETHROWER_DIRECTORY_PORTBASE', 'port', 'use multicast, directory on this port', { aliases: ['si.flamethrower-directory-portbase'], emptyMeans: '9000' }),
  p('FLAMETHROWER_WAIT', 'uint', 'seconds each udp-receiver waits for its cast to start (a cast under way ends first)', { default: '600' }),
  p('FLAMETHROWER_RETRIES', 'uint', 'retries of a failed cast, 3 s apart (a module file RETRY= wins)', { default: '7' }),
  p('BITTORRENT', 'bool', 'use BitTorrent', { default: 'n' }),
  p('BITTORRENT_STAGING', 'string', 'where to keep the tarball'),
  p('BITTORRENT_POLLING_TIME', 'uint', 'progress poll seconds', { default: '5' }),
  p('BITTORRENT_SEED_WAIT', 'bool', 'keep seeding after download', { default: 'n' }),
  p('BITTORRENT_UPLOAD_MIN', 'uint', 'stop seeding below this KB/s', { default: '50' }),
  p('HTTP_BASE', 'url', 'URL of a tree made by si-agent publish (http:// or https://): scripts, image and overrides over HTTP(S)', { aliases: ['si.http-base'] }),
  p('MANIFEST_KEY', 'edkey', 'ed25519 public key (base64, 32 bytes) or its SHA256: fingerprint the publish manifest must be signed with', { aliases: ['si.manifest-key'] }),
  p('HTTPS_CA', 'pemfile', 'PEM CA file trusted for HTTPS besides the bundled roots (in the initrd, or named in local.cfg)', { aliases: ['si.https-ca'] }),
  p('HTTP_PROXY', 'proxy', 'plain HTTP proxy for HTTP_BASE (http://host:port; CONNECT for https); else the HTTP_PROXY/http_proxy environment', { aliases: ['si.http-proxy'] }),
  p('IMAGING_COMPLETE_URL', 'url', 'over HTTP, requested at the end instead of imaging_complete_<IP> ({ip}, {hostname} substituted; a leading "POST " posts)', { aliases: ['si.imaging-complete-url'] }),
  p('SKIP_LOCAL_CFG', 'bool', 'ignore local.cfg files', { aliases: ['si.skip-local-cfg'], default: 'n' }),
  p('LAST_ROOT', 'string', 'device holding a local.cfg from the last install'),
  p('SCRIPT_MODE', 'enum', 'how the chosen autoinstall script is used: auto runs a 4.3 master and reads any other, run runs it, read only reads its variables', {
    aliases: ['si.script-mode'],
    default: 'auto',
    values: ['auto', 'run', 'read'],
  }),
  p('SCRIPT_TIMEOUT', 'uint', 'seconds before a pre- or post-install script is killed', { default: '1800' }),
  p('DISKORDER', 'diskorder', 'disk autodetect order, e.g. sd,nvme,vd,hd'),
  p('POST_ACTION', 'enum', 'what to do after the install', {
    aliases: ['si.post-action', 'SI_POST_ACTION'],
    default: 'reboot',
    values: ['reboot', 'shutdown', 'kexec', 'directboot', 'beep', 'shell'],
    synonyms: { poweroff: 'shutdown', halt: 'shutdown', 'beep-incessantly': 'beep', cmdline: 'shell' },
  }),
  p('BOOT_MODE', 'enum', 'firmware of the installed system', { values: ['bios', 'uefi'] }),
  p('BOOTLOADER', 'enum', 'boot loader to install in the target', { values: ['grub', 'none'] }),
  p('NOSYNC', 'bool', 'skip laying the image down (debug)'),
  p('tmpfs_size', 'string', 'tmpfs size option'),
  p('tmpfs_nr_blocks', 'string', 'tmpfs nr_blocks option'),
  p('tmpfs_nr_inodes', 'string', 'tmpfs nr_inodes option'),
  p('tmpfs_mode', 'string', 'tmpfs mode option'),
];

/** Well-known kernel parameters that look like SystemImager ones but are not. */
export const KERNEL_WORDS: ReadonlySet<string> = new Set(['BOOT_IMAGE']);

/** Builds the name/alias -> spec lookup (pure; called once per use site). */
function buildIndex(): Map<string, ParamSpec> {
  const m = new Map<string, ParamSpec>();
  for (const spec of PARAMS) {
    m.set(spec.name, spec);
    for (const a of spec.aliases) m.set(a, spec);
  }
  return m;
}

const INDEX: ReadonlyMap<string, ParamSpec> = buildIndex();

/** Canonical 4.3 name of a parameter name or alias, or undefined when it is not a known parameter. */
export function canonicalName(name: string): string | undefined {
  return INDEX.get(name)?.name;
}

/** The spec of a parameter by canonical name or alias. */
export function findParam(name: string): ParamSpec | undefined {
  return INDEX.get(name);
}

/** True when the name is a shell identifier (safe to write as `NAME=` in variables.txt). */
export function isShellName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}
