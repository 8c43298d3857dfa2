// Receives one Flamethrower cast with udp-receiver (through the runner) and streams it straight into the tar extractor.

import type { Readable } from 'node:stream';
import { CommandError, SiError } from '../errors.js';
import { sleepAbortable } from '../net/retry.js';
import type { TransportCtx } from './rsync-run.js';
import type { CastSettings } from './flamethrower-modules.js';
import type { ExtractResult } from './tar-extract.js';
import { TarError } from './tar-header.js';

export interface CastOptions {
  settings: CastSettings;
  /** The install interface (DEVICE); udp-receiver picks one when absent. */
  iface?: string;
  dest: string;
  /** Seconds each udp-receiver waits for its cast to start (FLAMETHROWER_WAIT). */
  waitS: number;
  /** Retries after a failed attempt when the module file has no RETRY= (FLAMETHROWER_RETRIES). */
  retries: number;
  /** Pause between attempts (SPEC 7: 3 s). */
  retryDelayMs?: number;
  /** Seconds without a packet, once the cast has started, before udp-receiver gives up (default 120). */
  receiveTimeoutS?: number;
  expectSha256?: string;
  /** Bytes received so far in this attempt. */
  onBytes?: (n: number) => void;
  /** Entries left out of the extraction (the image excludes). */
  skip?: (rel: string) => boolean;
}

/** udp-receiver's arguments for a module (SPEC 7); its output goes to stdout. */
export function receiverArgs(s: CastSettings, iface: string | undefined, waitS: number, receiveTimeoutS: number): string[] {
  return [
    ...(iface ? ['--interface', iface] : []),
    '--portbase', String(s.portbase), '--nokbd',
    ...(s.ttl !== undefined ? ['--ttl', String(s.ttl)] : []),
    ...(s.nosync ? ['--nosync'] : []),
    // udpcast's current name for 4.3's --mcast-all-addr (both are accepted; this one is documented).
    ...(s.mcastAllAddr ? ['--mcast-rdv-address', s.mcastAllAddr] : []),
    '--start-timeout', String(waitS), '--receive-timeout', String(receiveTimeoutS),
  ];
}

/** A refusal by the extractor (a hostile entry) or a digest mismatch: casting again cannot fix it. */
function isFinal(err: unknown): boolean {
  return err instanceof TarError && (err.entry !== undefined || /sha256/.test(err.message));
}

/** One attempt: udp-receiver's stdout into extractTar; the receiver is stopped if extraction fails. */
async function receiveOnce(ctx: TransportCtx, o: CastOptions): Promise<ExtractResult> {
  // The extractor (worker threads, hashing, decompression) loads with the first cast, not with every boot.
  const { extractTar } = await import('./tar-extract.js');
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  let gotOut: (s: Readable) => void = () => undefined;
  const out = new Promise<Readable>((r) => (gotOut = r));
  const args = receiverArgs(o.settings, o.iface, o.waitS, o.receiveTimeoutS ?? 120);
  const proc = ctx.run('udp-receiver', args, { takeStdout: (s) => gotOut(s), signal: stop.signal, maxBuffer: 64 * 1024 });
  try {
    const stream = await Promise.race([out, proc.then(() => Promise.reject(new SiError('E_TRANSFER', 'udp-receiver ended without output')))]);
    const result = await extractTar(ctx, stream, o.dest, { onBytes: o.onBytes, expectSha256: o.expectSha256, signal: ctx.signal, skip: o.skip });
    await proc;
    return result;
  } catch (err) {
    stop.abort();
    const procErr = await proc.then(() => null, (e: unknown) => e);
    // Nothing at all on stdout: no cast started within the wait (udp-receiver's own words, when it failed, say why).
    if (err instanceof TarError && /^empty stream/.test(err.message)) {
      throw new NoCastError(`nothing received within ${o.waitS} s${procErr instanceof CommandError ? ` (${lastLine(procErr)})` : ''}`);
    }
    throw err;
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort);
  }
}

/** Receives a module's cast into dest, retrying (each retry extracts again over what is there) per SPEC 7. */
export async function receiveCast(ctx: TransportCtx, o: CastOptions): Promise<ExtractResult & { attempts: number }> {
  const { module, portbase } = o.settings;
  const retries = o.settings.retry ?? o.retries;
  let last: unknown;
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    try {
      return { ...(await receiveOnce(ctx, o)), attempts: attempt };
    } catch (err) {
      if (ctx.signal?.aborted || isFinal(err)) throw err;
      last = err;
      if (attempt > retries) break;
      const delayMs = o.retryDelayMs ?? 3000;
      ctx.report.emit({ type: 'retry', what: `multicast module ${module} on portbase ${portbase}`, attempt, delayMs, error: firstLine(err) });
      await sleepAbortable(delayMs, ctx.signal);
    }
  }
  const why = last instanceof NoCastError ? `no cast received (udp-receiver waited up to ${o.waitS} s each time)` : 'the cast kept failing';
  throw new SiError('E_TRANSFER', `multicast module ${module} on portbase ${portbase}${o.iface ? ` (interface ${o.iface})` : ''}: ${why} after ${retries + 1} attempt${retries ? 's' : ''}: ${firstLine(last)}`, {
    cause: last,
    details: last instanceof SiError ? last.details : [],
  });
}

/** No byte of the cast arrived within the wait. */
class NoCastError extends SiError {
  constructor(message: string) {
    super('E_TRANSFER', message);
    this.name = 'NoCastError';
  }
}

function lastLine(err: CommandError): string {
  const lines = err.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return `udp-receiver exit code ${String(err.exitCode)}${lines.length ? `: ${lines.at(-1)}` : ''}`;
}

function firstLine(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}
