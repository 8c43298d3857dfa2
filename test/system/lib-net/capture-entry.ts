// Fixture capture, run by hand inside a client namespace: DISCOVER/REQUEST once and print the raw OFFER and ACK as hex.

import { createRunner } from '../../../agent/exec/runner.js';
import { openDhcpSocket } from '../../../agent/net/dhcp-socket.js';
import { decodeDhcpPacket } from '../../../agent/net/dhcp-packet.js';
import { encodeClientRequest } from '../../../agent/net/dhcp-request.js';
import { readLink } from '../../../agent/net/links.js';

/** Prints {"offer": hex, "ack": hex} for one exchange on iface. */
export async function capture(iface: string): Promise<void> {
  const link = await readLink(iface);
  if (!link) throw new Error(`no link ${iface}`);
  const xid = 0x51a6e47;
  const got: Buffer[] = [];
  const sock = await openDhcpSocket({ run: createRunner(null), onPacket: (b) => got.push(b) });
  const wait = async (type: number) => {
    for (let i = 0; i < 100; i++) {
      const hit = got.find((b) => { const d = decodeDhcpPacket(b); return d.ok && d.type === type && d.msg.xid === xid; });
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no reply of type ${type}`);
  };
  await sock.sendOn(iface, encodeClientRequest({ type: 'discover', xid, mac: link.mac, secs: 0 }));
  const offer = await wait(2);
  const d = decodeDhcpPacket(offer);
  if (!d.ok) throw new Error(d.reason);
  const server = d.msg.options.get(54)!;
  await sock.sendOn(iface, encodeClientRequest({ type: 'request', xid, mac: link.mac, secs: 1, requestedIp: d.msg.yiaddr, serverId: [...server].join('.') }));
  const ack = await wait(5);
  await sock.close();
  process.stdout.write(JSON.stringify({ mac: [...link.mac].map((x) => x.toString(16).padStart(2, '0')).join(':'), offer: offer.toString('hex'), ack: ack.toString('hex') }) + '\n');
}

capture(process.argv[2] ?? 'eth0').then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });
