// Builds the client's DISCOVER and REQUEST packets with SystemImager's parameter request list.

import { BOOTREQUEST, DHCP_TYPES, encodeDhcpMessage, ipBytes, type DhcpMessage } from './dhcp-packet.js';

/**
 * Options we ask for (option 55): subnet mask, broadcast, routers, DNS, host name,
 * domain name, log servers, 100 (old IMAGESERVER fallback), lease time, server id,
 * and SystemImager's site options 140-144.
 */
export const PARAMETER_REQUEST_LIST = [1, 28, 3, 6, 12, 15, 7, 100, 51, 54, 140, 141, 142, 143, 144] as const;

/** Largest DHCP message we accept (option 57): a full Ethernet frame's worth. */
export const MAX_MESSAGE_SIZE = 1472;

/** Broadcast flag: ask servers to broadcast replies, as we have no address to receive unicast on. */
export const FLAG_BROADCAST = 0x8000;

export interface ClientRequest {
  type: 'discover' | 'request' | 'release';
  xid: number;
  mac: Buffer;
  /** Seconds since we started trying (RFC 2131 `secs`). */
  secs: number;
  /** Our host name (option 12), when one is known before DHCP. */
  hostname?: string;
  /** REQUEST in SELECTING state: the offered address (option 50) and the chosen server (option 54). */
  requestedIp?: string;
  serverId?: string;
  /** RELEASE: the address given back (ciaddr). */
  releaseIp?: string;
}

/** The message for a DISCOVER, a REQUEST or a RELEASE (not yet encoded). */
export function buildClientMessage(req: ClientRequest): DhcpMessage {
  const options = new Map<number, Buffer>();
  options.set(53, Buffer.from([DHCP_TYPES[req.type]]));
  // Client identifier: hardware type 1 + MAC, like dhclient and udhcpc, so static leases keyed on it match.
  options.set(61, Buffer.concat([Buffer.from([1]), req.mac.subarray(0, 6)]));
  if (req.type === 'release') {
    // RFC 2131 4.4.6: server identifier, client identifier, ciaddr; nothing asked for.
    if (req.serverId) options.set(54, ipBytes(req.serverId));
    return { op: BOOTREQUEST, xid: req.xid >>> 0, secs: 0, flags: 0, ciaddr: req.releaseIp ?? '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0', chaddr: Buffer.from(req.mac.subarray(0, 6)), options };
  }
  if (req.type === 'request') {
    if (req.requestedIp) options.set(50, ipBytes(req.requestedIp));
    if (req.serverId) options.set(54, ipBytes(req.serverId));
  }
  const size = Buffer.alloc(2);
  size.writeUInt16BE(MAX_MESSAGE_SIZE);
  options.set(57, size);
  if (req.hostname) options.set(12, Buffer.from(req.hostname.slice(0, 63), 'latin1'));
  options.set(55, Buffer.from(PARAMETER_REQUEST_LIST));
  return {
    op: BOOTREQUEST,
    xid: req.xid >>> 0,
    secs: Math.min(0xffff, Math.max(0, Math.floor(req.secs))),
    flags: FLAG_BROADCAST,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: Buffer.from(req.mac.subarray(0, 6)),
    options,
  };
}

/** The encoded bytes of a DISCOVER, a REQUEST or a RELEASE. */
export function encodeClientRequest(req: ClientRequest): Buffer {
  return encodeDhcpMessage(buildClientMessage(req));
}
