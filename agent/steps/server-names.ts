// The image, monitor and log servers named by DNS: resolved once after the network is up, the address used logged.

import { isIP, isIPv6 } from 'node:net';
import { SiError } from '../errors.js';
import { systemPaths } from '../exec/tools.js';
import type { NetworkResult } from '../net/configure.js';
import { resolveServerName } from '../net/server-names.js';
import { type Ctx, param, setParam } from './context.js';

const SERVERS = ['IMAGESERVER', 'MONITOR_SERVER', 'LOG_SERVER'] as const;

/**
 * Replaces each server name by its address (source: the name's source, "resolved"): rsync, the monitor and syslog
 * then use the address that was logged, and no later lookup can pick another. IPv6 is asked first when the install
 * network has it. An image server that does not resolve is fatal; a monitor or log server only warns.
 */
export async function resolveServerNames(ctx: Ctx, net: NetworkResult): Promise<void> {
  const families: Array<4 | 6> = net.mode === 'ipv6' ? [6] : net.ipv6 ? [6, 4] : [4];
  for (const name of SERVERS) {
    const value = param(ctx, name);
    if (!value || isIP(value)) continue;
    const source = ctx.params.get(name)?.source ?? 'parameters';
    try {
      const r = await resolveServerName(value, { resolvConfPath: systemPaths().resolvConf, families });
      setParam(ctx, name, r.address, `${source}, ${value} resolved`);
      ctx.report.info(`${name} ${value} is ${r.address} (${r.record} of ${r.fqdn} from ${r.via})`);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (name === 'IMAGESERVER') throw new SiError('E_NETWORK', `IMAGESERVER=${value} (${source}): ${why}`, { cause: err, ...(err instanceof SiError ? { details: err.details } : {}) });
      ctx.report.warn(`${name}=${value} (${source}): ${why}; kept as a name`);
    }
  }
  // Dual stack with the image server on IPv6: it sees (and imaging_complete names) this end's IPv6 address.
  const server = param(ctx, 'IMAGESERVER');
  if (server && isIPv6(server) && net.ipv6 && ctx.state.clientIp && !isIPv6(ctx.state.clientIp)) ctx.state.clientIp = net.ipv6.address;
}
