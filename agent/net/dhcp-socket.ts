// The DHCP client's UDP socket: 0.0.0.0:68 with SO_BROADCAST, sending each packet out a chosen link.

import { ipCommand } from '../exec/tools.js';
import { createSocket, type Socket } from 'node:dgram';
import type { Runner } from '../exec/runner.js';
import { SiError } from '../errors.js';

/*
 * Why a route and not SO_BINDTODEVICE or a raw socket: Node's dgram exposes
 * neither SO_BINDTODEVICE nor packet sockets. On Linux a UDP socket can still
 * send to 255.255.255.255 from an interface with no address at all, as long as
 * the routing lookup finds a device for that destination: with the route
 * `255.255.255.255/32 dev IFACE` the kernel sends a limited broadcast with
 * source 0.0.0.0 out of IFACE (checked in network namespaces: veth, no address).
 * Replies come back broadcast (we set the broadcast flag), which a socket bound
 * to 0.0.0.0:68 receives on any link. With several links, the sends are
 * serialised and the route is pointed at the link of each packet before it goes
 * out; replies are told apart by xid (one per link), not by arrival link.
 */

const LIMITED_BROADCAST = '255.255.255.255';

export interface DhcpSocketOptions {
  run: Runner;
  /** Called with every datagram that arrives, and the sender's address. */
  onPacket: (buf: Buffer, from: string) => void;
  clientPort?: number; // 68
  serverPort?: number; // 67
}

export interface DhcpSocket {
  /** Sends one packet to 255.255.255.255:67 out of iface. */
  sendOn(iface: string, packet: Buffer): Promise<void>;
  /** Closes the socket and removes the broadcast route. */
  close(): Promise<void>;
}

function bindSocket(sock: Socket, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    sock.once('error', onError);
    sock.bind({ port, address: '0.0.0.0', exclusive: true }, () => {
      sock.off('error', onError);
      resolve();
    });
  });
}

/** Opens the client socket; throws E_NETWORK when port 68 is taken (another DHCP client running?). */
export async function openDhcpSocket(opts: DhcpSocketOptions): Promise<DhcpSocket> {
  const clientPort = opts.clientPort ?? 68;
  const serverPort = opts.serverPort ?? 67;
  const sock = createSocket({ type: 'udp4', reuseAddr: true });
  try {
    await bindSocket(sock, clientPort);
  } catch (err) {
    sock.close();
    throw new SiError('E_NETWORK', `cannot listen on UDP port ${clientPort} for DHCP: ${(err as Error).message}`, { cause: err });
  }
  sock.setBroadcast(true);
  sock.on('message', (buf, rinfo) => opts.onPacket(buf, rinfo.address));
  sock.on('error', () => {
    /* send errors are reported through sendOn; a stray socket error must not crash PID 1 */
  });
  let routedTo: string | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  const sendNow = async (iface: string, packet: Buffer): Promise<void> => {
    if (routedTo !== iface) {
      await opts.run(...ipCommand(['route', 'replace', `${LIMITED_BROADCAST}/32`, 'dev', iface]), { timeout: 10_000, quiet: true });
      routedTo = iface;
    }
    await new Promise<void>((resolve, reject) => {
      sock.send(packet, serverPort, LIMITED_BROADCAST, (err) => (err ? reject(err) : resolve()));
    });
  };

  return {
    sendOn(iface, packet) {
      const p = queue.then(() => sendNow(iface, packet));
      queue = p.catch(() => undefined);
      return p.catch((err: unknown) => {
        throw err instanceof SiError ? err : new SiError('E_NETWORK', `cannot send a DHCP packet on ${iface}: ${(err as Error).message}`, { cause: err });
      });
    },
    async close() {
      await queue;
      await new Promise<void>((resolve) => sock.close(() => resolve()));
      if (routedTo !== undefined) {
        await opts.run(...ipCommand(['route', 'del', `${LIMITED_BROADCAST}/32`, 'dev', routedTo]), { timeout: 10_000, allowFail: true, quiet: true });
      }
    },
  };
}
