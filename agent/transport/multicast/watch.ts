// Looks at a Flamethrower portbase between two udp-receiver runs: is a cast under way (the sender's data and
// acknowledgement requests) or is a sender waiting for receivers (its hellos)? And tells the sender this host is not
// in its running cast, for when it counted this host in but its connect reply was lost.

import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';

/** udpcast's opcodes (udpc-protoc.h), big-endian on the wire. */
export const OP = { DISCONNECT: 4, REQACK: 6, CONNECT_REPLY: 7, DATA: 8, FEC: 9, HELLO_NEW: 10, HELLO_STREAMING: 11, HELLO: 0x0500 } as const;

/** What one packet from the sender says: a hello (with the cast's data address) or cast traffic. */
export type SenderPacket = { kind: 'hello'; dataAddr?: string } | { kind: 'cast' } | { kind: 'other' };

/** Reads the opcode of a packet the sender sent to the receivers' port (pure). */
export function classifySenderPacket(msg: Buffer): SenderPacket {
  if (msg.length < 2) return { kind: 'other' };
  const op = msg.readUInt16BE(0);
  if (op === OP.HELLO || op === OP.HELLO_NEW || op === OP.HELLO_STREAMING) {
    // struct hello: opCode, reserved, capabilities (CAP_NEW_GEN = 1), mcastAddr[16] (the IPv4 address first).
    const newGen = msg.length >= 12 && (msg.readUInt32BE(4) & 1) === 1;
    const a = newGen ? [...msg.subarray(8, 12)] : [];
    return { kind: 'hello', dataAddr: a.length === 4 && a[0]! >= 224 && a[0]! <= 239 ? a.join('.') : undefined };
  }
  if (op === OP.DATA || op === OP.REQACK || op === OP.FEC) return { kind: 'cast' };
  return { kind: 'other' };
}

/** The IPv4 address and broadcast address of an interface, or undefined. */
export function interfaceAddress(iface: string): { address: string; broadcast: string } | undefined {
  const a = networkInterfaces()[iface]?.find((x) => x.family === 'IPv4' && !x.internal);
  if (!a) return undefined;
  const ip = a.address.split('.').map(Number);
  const mask = a.netmask.split('.').map(Number);
  return { address: a.address, broadcast: ip.map((b, i) => (b | (~mask[i]! & 255)) & 255).join('.') };
}

export interface ProbeOptions {
  iface: string;
  portbase: number;
  /** The control rendezvous address (MCAST_ALL_ADDR) instead of the interface's broadcast address. */
  mcastAllAddr?: string;
  /** The cast's data multicast address when known (from an earlier cast or hello). */
  dataAddr?: string;
  /** How long to listen when nothing is heard. */
  quietMs?: number;
  /** A cast counts as over once none of its packets came for this long. */
  gapMs?: number;
  signal?: AbortSignal;
}

export interface ProbeResult {
  /** A sender said hello: it waits for receivers now. */
  hello: boolean;
  /** Milliseconds during which a running cast was heard (0: none). */
  castMs: number;
  /** Milliseconds with nothing heard. */
  idleMs: number;
  dataAddr?: string;
}

function bindSocket(port: number, addr: string, group: string | undefined, local: string, onMessage: (m: Buffer, r: { address: string; port: number }) => void): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = createSocket({ type: 'udp4', reuseAddr: true });
    s.once('error', () => resolve(undefined));
    s.on('message', onMessage);
    s.bind(port, addr, () => {
      try {
        if (group) s.addMembership(group, local);
        resolve(s);
      } catch {
        s.close();
        resolve(undefined);
      }
    });
  });
}

/** Sends udpcast's CMD_DISCONNECT from this host's receiver port to the sender's control port. */
async function sendDisconnect(o: ProbeOptions, local: string, to: string): Promise<void> {
  const s = await bindSocket(o.portbase, local, undefined, local, () => undefined);
  if (!s) return;
  const msg = Buffer.alloc(4);
  msg.writeUInt16BE(OP.DISCONNECT, 0);
  await new Promise<void>((resolve) => {
    try {
      s.send(msg, o.portbase + 1, to, () => resolve());
    } catch {
      resolve();
    }
  });
  s.close();
}

/**
 * With udp-receiver stopped (it holds the port otherwise): listens on the receivers' port (udpcast: portbase; the
 * sender sends from portbase+1) until a sender says hello, a running cast ends, or quietMs passes with nothing heard.
 * On hearing a cast it tells its sender this host is not in it: a sender that counted this host in when its connect
 * reply was lost would otherwise wait for it through ~200 acknowledgement rounds (over 3 minutes) before dropping it.
 */
export async function probeCast(o: ProbeOptions): Promise<ProbeResult> {
  const quietMs = o.quietMs ?? 1500;
  const gapMs = o.gapMs ?? 1500;
  const ifa = interfaceAddress(o.iface);
  const started = Date.now();
  if (!ifa) {
    await new Promise((r) => setTimeout(r, quietMs));
    return { hello: false, castMs: 0, idleMs: quietMs };
  }
  const control = o.mcastAllAddr ?? ifa.broadcast;
  let told = false;
  let hello = false;
  let firstCast = 0;
  let lastCast = 0;
  let dataAddr = o.dataAddr;
  const sockets: Socket[] = [];
  const onMessage = (msg: Buffer, r: { address: string; port: number }) => {
    if (r.port !== o.portbase + 1) return;
    const p = classifySenderPacket(msg);
    if (p.kind === 'hello') {
      hello = true;
      dataAddr ??= p.dataAddr;
    } else if (p.kind === 'cast') {
      lastCast = Date.now();
      firstCast ||= lastCast;
      // Unicast to the sender: while it casts it reads only its own address's port, not the broadcast.
      if (!told) void sendDisconnect(o, ifa.address, r.address);
      told = true;
    }
  };
  try {
    const c = await bindSocket(o.portbase, control, o.mcastAllAddr, ifa.address, onMessage);
    if (c) sockets.push(c);
    if (dataAddr) {
      const d = await bindSocket(o.portbase, dataAddr, dataAddr, ifa.address, onMessage);
      if (d) sockets.push(d);
    }
    while (!hello && !o.signal?.aborted) {
      const now = Date.now();
      if (lastCast ? now - lastCast >= gapMs : now - started >= quietMs) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    for (const s of sockets) s.close();
  }
  const total = Date.now() - started;
  const castMs = firstCast ? Math.max(1, lastCast - firstCast + gapMs) : 0;
  return { hello, castMs: Math.min(castMs, total), idleMs: Math.max(0, total - castMs), dataAddr };
}
