// Receives one Flamethrower cast with udp-receiver (through the runner) and streams it straight into the tar extractor.

import type { Readable } from 'node:stream';
import { CommandError, SiError } from '../../errors.js';
import { sleepAbortable } from '../../net/retry.js';
import type { TransportCtx } from '../seams.js';
import type { CastSettings } from './modules.js';
import type { ExtractResult } from '../tar/extract.js';
import { TarError } from '../tar/header.js';
import { probeCast } from './watch.js';

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
  /** Milliseconds udp-receiver gets to reach a sender before the port is probed for a running cast (default 3000). */
  connectMs?: number;
  /** The data multicast address learnt from an earlier cast of the same server (udpcast uses one per interface). */
  dataAddr?: string;
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

/** What one udp-receiver run came to: the cast extracted, or no connection to a sender within connectMs. */
type RunOutcome = { kind: 'done'; result: ExtractResult } | { kind: 'not-connected' };

/**
 * One udp-receiver run: its stdout into extractTar; the receiver is stopped if extraction fails, or if no sender
 * answered within connectMs (a sender waiting for receivers answers at once; one that is casting answers nobody).
 */
async function runReceiver(ctx: TransportCtx, o: CastOptions, hints: CastHints, connectMs: number): Promise<RunOutcome> {
  // The extractor (worker threads, hashing, decompression) loads with the first cast, not with every boot.
  const { extractTar } = await import('../tar/extract.js');
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  let gotOut: (s: Readable) => void = () => undefined;
  const out = new Promise<Readable>((r) => (gotOut = r));
  let connected = false;
  let notConnected = false;
  let stderr = '';
  const onStderr = (d: string) => {
    stderr = (stderr + d).slice(-4096);
    if (/Connected as #/.test(stderr)) connected = true;
    const m = /Listening to multicast on (\d+\.\d+\.\d+\.\d+)/.exec(stderr);
    if (m) hints.dataAddr = m[1];
  };
  const args = receiverArgs(o.settings, o.iface, o.waitS, o.receiveTimeoutS ?? 120);
  const proc = ctx.run('udp-receiver', args, { takeStdout: (s) => gotOut(s), signal: stop.signal, maxBuffer: 64 * 1024, onStderr, quiet: hints.restarts > 0 });
  const timer = setTimeout(() => {
    if (connected) return;
    notConnected = true;
    stop.abort();
  }, connectMs);
  try {
    const stream = await Promise.race([out, proc.then(() => Promise.reject(new SiError('E_TRANSFER', 'udp-receiver ended without output')))]);
    const result = await extractTar(ctx, stream, o.dest, { onBytes: o.onBytes, expectSha256: o.expectSha256, signal: ctx.signal, skip: o.skip });
    await proc;
    return { kind: 'done', result };
  } catch (err) {
    stop.abort();
    const procErr = await proc.then(() => null, (e: unknown) => e);
    if (notConnected && !ctx.signal?.aborted) return { kind: 'not-connected' };
    // The sender answered that a cast for others is under way (udpcast: "Bad server reply 0006. Other transfer in
    // progress?"): as when no sender answers, wait for the next cast; this is no failed attempt.
    if (procErr instanceof CommandError && castInProgress(procErr.stderr) && !ctx.signal?.aborted) return { kind: 'not-connected' };
    // Nothing at all on stdout: no cast started within the wait (udp-receiver's own words, when it failed, say why).
    if (err instanceof TarError && /^empty stream/.test(err.message)) {
      throw new NoCastError(`nothing received within ${o.waitS} s${procErr instanceof CommandError ? ` (${lastLine(procErr)})` : ''}`);
    }
    throw err;
  } finally {
    clearTimeout(timer);
    ctx.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * One attempt. udp-receiver gets connectMs to reach a sender; if none answers, a cast is under way (or no sender is
 * up yet): the receiver is stopped, the sender told this host is not in its cast, and the port watched until the
 * cast ends or a sender says hello, then udp-receiver starts again at once. Only time with no cast heard counts
 * against the wait (FLAMETHROWER_WAIT), so a long cast for others never uses up an attempt.
 */
async function receiveOnce(ctx: TransportCtx, o: CastOptions, hints: CastHints): Promise<ExtractResult> {
  const connectMs = o.connectMs ?? 3000;
  let idleMs = 0;
  let castMs = 0;
  for (;;) {
    const r = await runReceiver(ctx, o, hints, connectMs);
    if (r.kind === 'done') {
      if (castMs) ctx.report.info(`multicast ${o.settings.module}: joined the next cast after a cast under way for other receivers (${(castMs / 1000).toFixed(1)} s), without a timeout`);
      return r.result;
    }
    idleMs += connectMs;
    hints.restarts++;
    const p = o.iface ? await probeCast({ iface: o.iface, portbase: o.settings.portbase, mcastAllAddr: o.settings.mcastAllAddr, dataAddr: hints.dataAddr, signal: ctx.signal }) : await sleepProbe(ctx);
    if (p.dataAddr) hints.dataAddr = p.dataAddr;
    if (p.castMs && !castMs) ctx.report.info(`multicast ${o.settings.module}: a cast is under way on portbase ${o.settings.portbase} without this host; waiting for the next one`);
    castMs += p.castMs;
    idleMs += p.idleMs;
    if (ctx.signal?.aborted) throw new SiError('E_TRANSFER', 'aborted');
    if (idleMs >= o.waitS * 1000) throw new NoCastError(`nothing received within ${o.waitS} s (no sender answered and no cast was heard)`);
  }
}

async function sleepProbe(ctx: TransportCtx): Promise<{ castMs: number; idleMs: number; dataAddr?: string }> {
  await sleepAbortable(1000, ctx.signal);
  return { castMs: 0, idleMs: 1000 };
}

/** What the attempts of one cast learn for each other: the data address, how often udp-receiver was restarted. */
export interface CastHints {
  dataAddr?: string;
  restarts: number;
}

/** Receives a module's cast into dest, retrying (each retry extracts again over what is there) per SPEC 7. */
export async function receiveCast(ctx: TransportCtx, o: CastOptions): Promise<ExtractResult & { attempts: number; dataAddr?: string }> {
  const { module, portbase } = o.settings;
  const retries = o.settings.retry ?? o.retries;
  let last: unknown;
  const hints: CastHints = { dataAddr: o.dataAddr, restarts: 0 };
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    try {
      return { ...(await receiveOnce(ctx, o, hints)), attempts: attempt, dataAddr: hints.dataAddr };
    } catch (err) {
      if (ctx.signal?.aborted || isFinal(err)) throw err;
      last = err;
      if (attempt > retries) break;
      // A cast that failed under way (dropped, cut short) is cast again about a second after it ends: retry at once.
      const delayMs = err instanceof NoCastError ? (o.retryDelayMs ?? 3000) : 0;
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

/** udp-receiver's words for a sender busy with a cast for other receivers (pure). */
export function castInProgress(stderr: string): boolean {
  return /Other transfer in progress/i.test(stderr);
}

function lastLine(err: CommandError): string {
  const lines = err.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return `udp-receiver exit code ${String(err.exitCode)}${lines.length ? `: ${lines.at(-1)}` : ''}`;
}

function firstLine(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}
