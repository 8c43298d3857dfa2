// Sends one line over a fresh TCP connection and closes it, as `echo "$msg" | ncat host port` did.

import { connect } from 'node:net';

export interface SendLineOptions {
  host: string;
  port: number;
  line: string;
  /** Longest wait for connecting and writing (default 3000 ms). */
  timeoutMs?: number;
  /** Longest wait for the peer to close after our data is written (default 1000 ms). */
  lingerMs?: number;
  signal?: AbortSignal;
}

/** Connects, writes `line` + newline, half-closes and waits for the peer to close; rejects on failure. */
export function sendLine(opts: SendLineOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new Error('aborted'));
      return;
    }
    const socket = connect({ host: opts.host, port: opts.port });
    let settled = false;
    let timer: NodeJS.Timeout | null = null;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const onAbort = (): void => finish(new Error('aborted'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(() => finish(new Error(`timed out after ${opts.timeoutMs ?? 3000} ms`)), opts.timeoutMs ?? 3000);

    socket.on('error', (err) => finish(err));
    // Whatever the server says back is read and thrown away so it never blocks the close.
    socket.resume();
    socket.on('connect', () => {
      socket.end(`${opts.line}\n`);
    });
    socket.on('finish', () => {
      // Our data and FIN are queued in the kernel. Wait for the peer's close so a reset
      // cannot discard them, but do not wait for a server that keeps the line open.
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => finish(null), opts.lingerMs ?? 1000);
    });
    socket.on('close', (hadError) => finish(hadError ? new Error('connection closed with an error') : null));
  });
}

/** Waits ms milliseconds, or less when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
