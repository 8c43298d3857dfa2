import { describe, expect, it } from 'vitest';
import { SiError } from '../../../agent/errors.js';
import { decodeDhcpPacket, decodeDhcpRequest } from '../../../agent/net/dhcp-packet.js';
import { createInbox } from '../../../agent/net/dhcp-inbox.js';
import { discoverWait, negotiateLease, type NegotiateContext } from '../../../agent/net/dhcp-negotiate.js';
import { Reporter, type SiEvent } from '../../../agent/report/events.js';
import { encodeReply, type ReplySpec } from '../../system/lib-net/reply-builder.js';

const MAC = Buffer.from([2, 0, 0, 0, 0, 7]);

/** A context whose send() hands each request to `server`, which answers with reply specs (decoded into the inbox). */
function makeCtx(server: (type: number, xid: number, n: number) => Array<Omit<ReplySpec, 'xid' | 'mac'> & { xid?: number }>, over: Partial<NegotiateContext> = {}) {
  const events: SiEvent[] = [];
  const report = new Reporter();
  report.addSink((e) => events.push(e));
  const inbox = createInbox();
  let n = 0;
  const ctx: NegotiateContext = {
    iface: 'eth7',
    mac: MAC,
    inbox,
    setXid: () => undefined,
    send: async (packet) => {
      const req = decodeDhcpRequest(packet);
      if (!req.ok) throw new Error(req.reason);
      for (const spec of server(req.type, req.msg.xid, ++n)) {
        const d = decodeDhcpPacket(encodeReply({ xid: req.msg.xid, mac: MAC, ...spec }));
        if (d.ok) setTimeout(() => inbox.put({ msg: d.msg, type: d.type, from: '10.213.0.1' }), 5);
      }
    },
    report,
    signal: new AbortController().signal,
    deadline: Date.now() + 5000,
    started: Date.now(),
    attempts: Infinity,
    baseMs: 100,
    capMs: 400,
    random: () => 0.5,
    stats: { discovers: 0, naks: 0, ignored: [] },
    ...over,
  };
  return { ctx, events };
}

describe('negotiateLease', () => {
  it('DISCOVER -> OFFER -> REQUEST -> ACK', async () => {
    const { ctx } = makeCtx((type) => (type === 1 ? [{ type: 'offer', yiaddr: '10.213.0.60' }] : [{ type: 'ack', yiaddr: '10.213.0.60' }]));
    const lease = await negotiateLease(ctx);
    expect(lease).toMatchObject({ iface: 'eth7', ip: '10.213.0.60', prefix: 24, serverId: '10.213.0.1', routers: ['10.213.0.1'], leaseSeconds: 3600 });
    expect(ctx.stats.discovers).toBe(1);
  });

  it('starts over after a NAK and takes the next ACK', async () => {
    let requests = 0;
    const { ctx, events } = makeCtx((type) => (type === 1 ? [{ type: 'offer', yiaddr: '10.213.0.61' }] : ++requests === 1 ? [{ type: 'nak', options: [[56, Buffer.from('wrong network')]] }] : [{ type: 'ack', yiaddr: '10.213.0.61' }]));
    const lease = await negotiateLease(ctx);
    expect(lease.ip).toBe('10.213.0.61');
    expect(ctx.stats.naks).toBe(1);
    expect(ctx.stats.discovers).toBe(2);
    expect(events.some((e) => e.type === 'log' && /NAK from 10\.213\.0\.1 on eth7: wrong network/.test(e.message))).toBe(true);
  });

  it('ignores unusable offers and ACKs for another address, with reasons', async () => {
    const { ctx, events } = makeCtx((type) =>
      type === 1
        ? [{ type: 'offer', yiaddr: '0.0.0.0' }, { type: 'ack', yiaddr: '10.213.0.9' }, { type: 'offer', yiaddr: '10.213.0.62' }]
        : [{ type: 'ack', yiaddr: '10.213.0.99' }, { type: 'ack', yiaddr: '10.213.0.62' }],
    );
    const lease = await negotiateLease(ctx);
    expect(lease.ip).toBe('10.213.0.62');
    const logs = events.filter((e) => e.type === 'log').map((e) => (e as { message: string }).message).join('\n');
    expect(logs).toMatch(/unusable address 0\.0\.0\.0/);
    expect(logs).toMatch(/type 5 while waiting for an OFFER/);
    expect(logs).toMatch(/an ACK for 10\.213\.0\.99, we requested 10\.213\.0\.62/);
  });

  it('times out with an E_TIMEOUT naming the link, the DISCOVERs and the time, after retry events', async () => {
    const { ctx, events } = makeCtx(() => [], { deadline: Date.now() + 700 });
    const err = await negotiateLease(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiError);
    expect((err as SiError).code).toBe('E_TIMEOUT');
    expect((err as SiError).message).toMatch(/^no DHCP lease on eth7: sent [3-5] DISCOVERs over 0\.\d s/);
    const retries = events.filter((e) => e.type === 'retry');
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries[0]).toMatchObject({ what: 'DHCP DISCOVER on eth7', attempt: 1 });
  });

  it('stops after the attempts limit', async () => {
    const { ctx } = makeCtx(() => [], { attempts: 2 });
    await expect(negotiateLease(ctx)).rejects.toThrow(/sent 2 DISCOVERs/);
  });

  it('backs off exponentially with bounded jitter', () => {
    expect(discoverWait(1, 4000, 32000, () => 0.5)).toBe(4000);
    expect(discoverWait(2, 4000, 32000, () => 0.5)).toBe(8000);
    expect(discoverWait(6, 4000, 32000, () => 0.5)).toBe(32000);
    expect(discoverWait(1, 4000, 32000, () => 0)).toBe(3000);
    expect(discoverWait(3, 4000, 32000, () => 0.999)).toBeLessThanOrEqual(17000);
  });
});
