// Finds the address this machine uses to reach a server: the client IP the image server sees.

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Runner } from '../exec/runner.js';
import { SiError } from '../errors.js';

/** Resolves a host name (or passes an IPv4 or IPv6 address through) to an address. */
export async function resolveHost(host: string): Promise<string> {
  if (isIP(host)) return host;
  try {
    const r = await lookup(host, { family: 0 });
    return r.address;
  } catch (err) {
    throw new SiError('E_NETWORK', `cannot resolve image server "${host}": ${(err as Error).message}`, { cause: err });
  }
}

/** The source address of the route to `server` (`ip -j route get`), e.g. 127.0.0.1 for a loopback server. */
export async function findSourceAddress(run: Runner, server: string): Promise<{ ip: string; dev: string | undefined }> {
  const addr = await resolveHost(server);
  const r = await run('ip', ['-j', 'route', 'get', addr], { timeout: 10_000, quiet: true });
  let routes: Array<{ prefsrc?: string; dev?: string }>;
  try {
    routes = JSON.parse(r.stdout);
  } catch {
    throw new SiError('E_NETWORK', `cannot read the route to ${addr}: ${r.stdout.slice(0, 200)}`);
  }
  const first = routes[0];
  if (!first?.prefsrc) throw new SiError('E_NETWORK', `no route with a source address to the image server ${addr}`);
  return { ip: first.prefsrc, dev: first.dev };
}
