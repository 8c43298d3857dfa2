// /tmp/variables.txt as 4.3's rcS wrote it for the master: its names, in its order, with the install's live values.

import type { Params } from '../params/types.js';
import { quoteShellValue } from '../params/variables-txt.js';
import { SiError } from '../errors.js';

/** The names 4.3's rcS wrote, in its order (MASTER-43.md, "Variables"). */
export const MASTER_VARIABLES = [
  'HOSTNAME', 'DOMAINNAME', 'DEVICE', 'IPADDR', 'NETMASK', 'NETWORK', 'BROADCAST', 'GATEWAY', 'GATEWAYDEV',
  'IMAGESERVER', 'IMAGENAME', 'LOG_SERVER', 'LOG_SERVER_PORT', 'USELOGGER', 'TMPFS_STAGING', 'SSH', 'SSHD',
  'SSH_USER', 'SSH_DOWNLOAD_URL', 'FLAMETHROWER_DIRECTORY_PORTBASE', 'MONITOR_SERVER', 'MONITOR_PORT',
  'MONITOR_CONSOLE', 'BITTORRENT', 'BITTORRENT_STAGING', 'BITTORRENT_POLLING_TIME', 'BITTORRENT_SEED_WAIT',
  'BITTORRENT_UPLOAD_MIN', 'GROUPNAMES', 'GROUP_OVERRIDES',
] as const;

/** Lists 4.3 kept in double quotes (space-separated names). */
const QUOTED_LISTS = new Set(['GROUPNAMES', 'GROUP_OVERRIDES']);

/** What the agent knows live that the parameters may not say (the address DHCP gave, the tunnel's end). */
export interface LiveValues {
  /** Replaces a parameter's value (IPADDR from the lease, IMAGESERVER=127.0.0.1 under SSH, ...). */
  [name: string]: string | undefined;
}

/**
 * Formats variables.txt: every 4.3 name, empty when unknown (a master tests `[ -z $X ]`), then nothing else: the
 * agent's own parameters are not a 4.3 master's business. A value with a newline or control character is refused
 * (no portable sh escape; validation names its source first).
 */
export function formatMasterVariables(params: Params, live: LiveValues): string {
  const lines: string[] = [];
  for (const name of MASTER_VARIABLES) {
    const t = params.get(name);
    // Defaults the agent fills in (LOG_SERVER_PORT=514, ...) are given as 4.3 gave them: as values.
    const value = live[name] ?? t?.value ?? '';
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) throw new SiError('E_PARAM', `${t?.source ?? 'live value'} ${name}: ${JSON.stringify(value)} contains a control character; cannot be written to variables.txt`);
    if (QUOTED_LISTS.has(name)) {
      const words = value.split(/\s+/).filter(Boolean);
      if (words.some((w) => !/^[A-Za-z0-9_.@%+=:,/-]+$/.test(w))) throw new SiError('E_PARAM', `${t?.source ?? 'live value'} ${name}: ${JSON.stringify(value)} holds a name that cannot be written inside double quotes`);
      lines.push(`${name}="${words.join(' ')}"`);
    } else lines.push(`${name}=${quoteShellValue(value)}`);
  }
  return lines.map((l) => l + '\n').join('');
}
