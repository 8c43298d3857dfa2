// DHCPv6 RELEASE (RFC 8415 18.2.7): a lease a link got but the install does not use is given back to its server.

import { randomBytes } from 'node:crypto';
import type { Reporter } from '../report/events.js';
import { DHCP6_TYPES, OPT6, decodeDhcp6, duidFromMac, encodeDhcp6, encodeOptions6, u16Option } from './dhcp6-packet.js';
import type { Dhcp6Lease } from './dhcp6-client.js';
import { openDhcp6Socket } from './dhcp6-socket.js';
import { ipv6Bytes } from './ipv6-values.js';

/** Encodes a RELEASE of the lease's address (our DUID-LL and IAID from the MAC, as the SOLICIT had them). */
export function encodeRelease6(lease: Dhcp6Lease, mac: Buffer, xid: number): Buffer {
  const iaid = mac.readUInt32BE(mac.length - 4);
  const head = Buffer.alloc(12);
  head.writeUInt32BE(iaid >>> 0, 0);
  const iaAddr = { code: OPT6.iaAddr, data: Buffer.concat([ipv6Bytes(lease.address), Buffer.alloc(8)]) };
  return encodeDhcp6({
    type: DHCP6_TYPES.release,
    xid,
    options: [
      { code: OPT6.clientId, data: duidFromMac(mac) },
      { code: OPT6.serverId, data: Buffer.from(lease.serverId, 'hex') },
      { code: OPT6.iaNa, data: Buffer.concat([head, encodeOptions6([iaAddr])]) },
      u16Option(OPT6.elapsedTime, 0),
    ],
  });
}

export interface Release6Options {
  report: Reporter;
  mac: Buffer;
  linkLocal: string;
  lease: Dhcp6Lease;
  /** How long to wait for the server's REPLY, resending once halfway (default 1000 ms). */
  waitMs?: number;
  clientPort?: number;
  serverPort?: number;
}

/** Sends the RELEASE and waits briefly for the REPLY; never throws (the install goes on whatever the server says). */
export async function releaseDhcp6(o: Release6Options): Promise<boolean> {
  const { lease, report } = o;
  const xid = randomBytes(3).readUIntBE(0, 3);
  let replied: (() => void) | undefined;
  const got = new Promise<void>((r) => (replied = r));
  try {
    const sock = await openDhcp6Socket({
      iface: lease.iface,
      linkLocal: o.linkLocal,
      onPacket: (buf) => {
        const d = decodeDhcp6(buf);
        if (d.ok && d.msg.type === DHCP6_TYPES.reply && d.msg.xid === xid) replied?.();
      },
      ...(o.clientPort ? { clientPort: o.clientPort } : {}),
      ...(o.serverPort ? { serverPort: o.serverPort } : {}),
    });
    const packet = encodeRelease6(lease, o.mac, xid);
    const wait = o.waitMs ?? 1000;
    let ok = false;
    try {
      for (let n = 0; n < 2 && !ok; n++) {
        await sock.send(packet);
        ok = await Promise.race([got.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), wait / 2))]);
      }
    } finally {
      await sock.close();
    }
    report.info(`DHCPv6: released ${lease.address} on ${lease.iface} (server ${lease.server}${ok ? '' : ', no REPLY'})`);
    return ok;
  } catch (err) {
    report.warn(`DHCPv6: could not release ${lease.address} on ${lease.iface}: ${(err as Error).message}`);
    return false;
  }
}
