// The daemon's module list, and the "Unknown module" error that names what the server does offer.

import { CommandError, SiError } from '../../errors.js';
import { unknownModuleOf } from './errors.js';
import { runRsync, type TransportCtx } from './run.js';
import { isSafeName, rsyncUrl } from './url.js';

/** Seconds rsync waits for the daemon to answer before giving up (exit 35, retried). */
export const CONNECT_TIMEOUT_S = 15;

/** Lists the modules the rsync daemon offers (`rsync rsync://server:port/`). */
export async function listModules(ctx: TransportCtx, server: string, port?: number): Promise<string[]> {
  const url = rsyncUrl(server, port);
  const res = await runRsync(ctx, { what: `list modules of ${url}`, args: [`--contimeout=${CONNECT_TIMEOUT_S}`, url], timeoutMs: 60_000 });
  return parseModuleList(res.stdout);
}

/** Module names from the daemon's listing: one `name<spaces>\tcomment` line each (motd lines have no tab). */
export function parseModuleList(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.includes('\t'))
    .map((l) => l.split('\t')[0]!.trim())
    .filter((n) => n !== '' && isSafeName(n));
}

/** Turns a daemon's "Unknown module" refusal into an error that lists what the server does offer. */
export async function explainUnknownModule(ctx: TransportCtx, err: unknown, server: string, port?: number): Promise<never> {
  const name = err instanceof CommandError ? unknownModuleOf(err.stderr) : null;
  if (name === null) throw err;
  let offered: string;
  try {
    const mods = await listModules(ctx, server, port);
    offered = mods.length ? `it offers: ${mods.join(', ')}` : 'it lists no modules';
  } catch (listErr) {
    offered = `its module list could not be read either (${listErr instanceof Error ? listErr.message.split('\n')[0] : String(listErr)})`;
  }
  throw new SiError('E_SERVER', `image server ${server}:${port ?? 873} has no rsync module "${name}"; ${offered}`, {
    cause: err,
    details: err instanceof CommandError ? err.details : [],
  });
}
