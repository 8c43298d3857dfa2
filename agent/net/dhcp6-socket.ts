// The DHCPv6 client's socket on one link: bound to the link's link-local address, port 546, sending to ff02::1:2.

import { createSocket } from 'node:dgram';
import { SiError } from '../errors.js';

/** All_DHCP_Relay_Agents_and_Servers (RFC 8415 7.1). */
export const ALL_DHCP_SERVERS = 'ff02::1:2';

export interface Dhcp6SocketOptions {
  iface: string;
  /** The link's link-local address (DAD done: a tentative address cannot be bound). */
  linkLocal: string;
  onPacket: (buf: Buffer, from: string) => void;
  clientPort?: number; // 546
  serverPort?: number; // 547
  /** Where to send (default ff02::1:2 on the link). */
  server?: string;
}

export interface Dhcp6Socket {
  send(packet: Buffer): Promise<void>;
  close(): Promise<void>;
}

/*
 * Why bind the link-local address and not [::]:546: with several links each negotiation has its own socket, and a
 * socket bound to fe80::...%IF receives only what comes on that link; the scope also picks the link for the
 * multicast sends. Servers answer the source address, which is this link-local one.
 */

/** Opens the socket; E_NETWORK names the link and address when the bind fails (port taken, address not ready). */
export async function openDhcp6Socket(opts: Dhcp6SocketOptions): Promise<Dhcp6Socket> {
  const sock = createSocket({ type: 'udp6', reuseAddr: true });
  const port = opts.clientPort ?? 546;
  const local = `${opts.linkLocal}%${opts.iface}`;
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ port, address: local, exclusive: true }, () => {
        sock.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    sock.close();
    throw new SiError('E_NETWORK', `cannot listen on [${local}]:${port} for DHCPv6: ${(err as Error).message}`, { cause: err });
  }
  sock.on('message', (buf, rinfo) => opts.onPacket(buf, rinfo.address));
  sock.on('error', () => {
    /* a send error is reported by send(); a stray one must not crash PID 1 */
  });
  try {
    sock.setMulticastInterface(`::%${opts.iface}`);
  } catch {
    /* the scope in the destination picks the link as well */
  }
  const dest = `${opts.server ?? ALL_DHCP_SERVERS}%${opts.iface}`;
  const serverPort = opts.serverPort ?? 547;
  return {
    send(packet) {
      return new Promise((resolve, reject) =>
        sock.send(packet, serverPort, dest, (err) => (err ? reject(new SiError('E_NETWORK', `cannot send a DHCPv6 message on ${opts.iface}: ${err.message}`, { cause: err })) : resolve())),
      );
    },
    close() {
      return new Promise((resolve) => sock.close(() => resolve()));
    },
  };
}
