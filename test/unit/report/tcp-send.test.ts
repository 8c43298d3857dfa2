import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { sendLine, sleep } from '../../../agent/report/tcp-send.js';

describe('sendLine', () => {
  it('delivers the line even to a server that never closes, after the linger time', async () => {
    let got = '';
    const held: Socket[] = [];
    // allowHalfOpen: the server does not answer our FIN with its own, like a monitor that hangs.
    const server = createServer({ allowHalfOpen: true }, (s) => {
      held.push(s);
      s.on('data', (d) => (got += d.toString()));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const t0 = Date.now();
    await sendLine({ host: '127.0.0.1', port, line: 'status=0', lingerMs: 150 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
    expect(got).toBe('status=0\n');
    held.forEach((s) => s.destroy());
    await new Promise((r) => server.close(r));
  });

  it('rejects (never throws synchronously) for a refused port, an unknown host and an aborted signal', async () => {
    await expect(sendLine({ host: '127.0.0.1', port: 1, line: 'x' })).rejects.toThrow(/ECONNREFUSED/);
    await expect(sendLine({ host: 'no-such-host.invalid', port: 8181, line: 'x', timeoutMs: 2000 })).rejects.toThrow();
    const ac = new AbortController();
    ac.abort();
    await expect(sendLine({ host: '127.0.0.1', port: 1, line: 'x', signal: ac.signal })).rejects.toThrow('aborted');
  });
});

describe('sleep', () => {
  it('ends early when aborted', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 20);
    await sleep(5000, ac.signal);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
