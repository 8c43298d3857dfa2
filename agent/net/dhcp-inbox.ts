// A per-link mailbox of decoded DHCP replies that a negotiation awaits with a timeout and an abort signal.

import type { DhcpMessage } from './dhcp-packet.js';

export interface Received {
  msg: DhcpMessage;
  type: number;
  from: string;
}

export interface Inbox {
  /** Queues a reply (called by the socket's packet dispatcher). */
  put(r: Received): void;
  /** Drops everything queued (a new xid makes old replies stale). */
  clear(): void;
  /** The next queued reply accepted by `want`, or undefined after ms or on abort; rejected replies are passed to onSkip. */
  next(want: (r: Received) => string | undefined, ms: number, signal: AbortSignal, onSkip: (r: Received, why: string) => void): Promise<Received | undefined>;
}

/** Makes an empty inbox. */
export function createInbox(): Inbox {
  let queue: Received[] = [];
  let wake: (() => void) | undefined;
  return {
    put(r) {
      queue.push(r);
      wake?.();
    },
    clear() {
      queue = [];
    },
    async next(want, ms, signal, onSkip) {
      const until = Date.now() + Math.max(0, ms);
      for (;;) {
        while (queue.length > 0) {
          const r = queue.shift()!;
          const why = want(r);
          if (why === undefined) return r;
          onSkip(r, why);
        }
        const left = until - Date.now();
        if (left <= 0 || signal.aborted) return undefined;
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(t);
            signal.removeEventListener('abort', done);
            wake = undefined;
            resolve();
          };
          const t = setTimeout(done, left);
          signal.addEventListener('abort', done, { once: true });
          wake = done;
        });
      }
    },
  };
}
