// A DHCP server for tests that answers each request with every broken variant first, NAKs the first REQUESTs, then answers properly.

import { createSocket } from 'node:dgram';
import { decodeDhcpRequest, encodeDhcpMessage, ipBytes } from '../../../agent/net/dhcp-packet.js';
import { brokenVariants, buildReply, type ReplySpec } from './reply-builder.js';

interface HostileConfig {
  serverIp: string;
  offerIp: string;
  /** How many REQUESTs get a NAK before one gets an ACK. */
  naks: number;
}

/** Runs the server until killed; logs each request and what it sent. */
export function main(cfg: HostileConfig): void {
  const sock = createSocket({ type: 'udp4', reuseAddr: true });
  let naksLeft = cfg.naks;
  const send = (b: Buffer) => new Promise<void>((r) => sock.send(b, 68, '255.255.255.255', () => r()));
  sock.on('message', (buf) => {
    const d = decodeDhcpRequest(buf);
    if (!d.ok) return console.log(`ignored: ${d.reason}`);
    const base = { xid: d.msg.xid, mac: d.msg.chaddr, yiaddr: cfg.offerIp, serverId: cfg.serverIp, options: [[140, ipBytes(cfg.serverIp)], [141, Buffer.from([0x14, 0x14])], [144, Buffer.from('yes')]] as Array<[number, Buffer]> };
    void (async () => {
      if (d.type === 1) {
        const good: ReplySpec = { ...base, type: 'offer' };
        for (const v of brokenVariants(good)) await send(v.bytes);
        // An OFFER from a stray server that then vanishes would be a different test; here the good one comes last.
        await send(encodeDhcpMessage(buildReply(good)));
        console.log(`DISCOVER xid ${d.msg.xid.toString(16)}: sent ${brokenVariants(good).length} broken replies and an OFFER`);
      } else if (d.type === 3) {
        const good: ReplySpec = { ...base, type: naksLeft > 0 ? 'nak' : 'ack' };
        for (const v of brokenVariants(good)) await send(v.bytes);
        await send(encodeDhcpMessage(buildReply(good)));
        console.log(`REQUEST xid ${d.msg.xid.toString(16)}: sent ${good.type.toUpperCase()}`);
        if (naksLeft > 0) naksLeft--;
      }
    })();
  });
  sock.bind(67, '0.0.0.0', () => {
    sock.setBroadcast(true);
    console.log('listening on :67');
  });
}

main(JSON.parse(process.argv[2] ?? '{}') as HostileConfig);
