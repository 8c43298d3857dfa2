// A minimal QMP client for the boot tests: connects to QEMU's `-qmp unix:PATH` socket, negotiates, runs commands.

import { connect } from 'node:net';

/** Runs QMP commands in order on the socket at path; returns each command's `return` value (throws on an `error`). */
export async function qmpCommands(path: string, commands: Array<{ execute: string; arguments?: Record<string, unknown> }>, timeoutMs = 10_000): Promise<unknown[]> {
  const sock = connect(path);
  sock.setEncoding('utf8');
  const replies: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let buf = '';
  let failure: Error | undefined;
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  sock.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (!line) continue;
      const msg = JSON.parse(line) as Record<string, unknown>;
      if (!('event' in msg)) replies.push(msg); // asynchronous events are not replies
    }
    wake();
  });
  sock.on('error', (e) => {
    failure = e;
    wake();
  });
  const deadline = Date.now() + timeoutMs;
  const next = async (what: string): Promise<Record<string, unknown>> => {
    while (replies.length === 0) {
      if (failure) throw new Error(`QMP ${path}: ${failure.message}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`QMP ${path}: no reply to ${what} within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return replies.shift()!;
  };
  try {
    const greeting = await next('the connection');
    if (!('QMP' in greeting)) throw new Error(`QMP ${path}: unexpected greeting ${JSON.stringify(greeting)}`);
    const out: unknown[] = [];
    for (const c of [{ execute: 'qmp_capabilities' }, ...commands]) {
      sock.write(`${JSON.stringify(c)}\n`);
      const r = await next(c.execute);
      if ('error' in r) throw new Error(`QMP ${c.execute}: ${JSON.stringify(r.error)}`);
      if (c.execute !== 'qmp_capabilities') out.push(r.return);
    }
    return out;
  } finally {
    sock.destroy();
  }
}
