// A userspace switch port for the boot tests: the guest's NICs are trunk ports carrying VLAN 42 tagged, the server is
// an access port on VLAN 42. This host's kernel cannot tag (no 8021q, no act_vlan, no bridge VLAN filtering), so the
// frames go through this process: every port is a UDP socket on 127.0.0.1 carrying one Ethernet frame per datagram
// (QEMU's `-netdev dgram` on the guest side, `socat TUN,tun-type=tap UDP-DATAGRAM:` on the server side).
//
// Guest -> server: only frames tagged with the VLAN pass, the tag popped; untagged and other-VLAN frames are dropped
// and counted by EtherType. Server -> guest: the tag pushed, the frame sent to every guest port, as a hub does (a bond
// in active-backup drops what arrives on its inactive slave). Guest -> guest: nothing (the bond's slaves are not a
// path). The counters go to a JSON file, rewritten whenever they change, for the test to read.
//
// With `lacp`, the switch is an LACP-only switch (lacp.ts): it answers each guest port's LACPDUs as the partner of the
// guest's 802.3ad bond (one aggregation key for all its ports), forwards data from a port only once the guest says the
// port is in sync, collecting and distributing, and sends each frame to the guest on one aggregated port, as a switch
// does on a link aggregation (not to every port).

import { createSocket, type Socket } from 'node:dgram';
import { renameSync, writeFileSync } from 'node:fs';
import { aggregated, isLacpdu, lacpdu, parseLacpdu, STATE, type LacpInfo } from './lacp.ts';

export interface SwitchConfig {
  vlan: number;
  /** Guest trunk ports: the switch listens on `listen`, sends to QEMU's `peer` (both on 127.0.0.1). */
  guests: Array<{ name: string; listen: number; peer: number }>;
  /** The server access port (socat's UDP-DATAGRAM end). */
  server: { listen: number; peer: number };
  /** Where the counters go (JSON). */
  countersFile: string;
  /** An LACP-only switch: the guest's ports aggregate with it (802.3ad) before they carry data. */
  lacp?: boolean;
}

/** What the switch heard from the guest's LACP on a port (lacp mode). */
export interface LacpCounters {
  /** LACPDUs received (each answered). */
  pdus: number;
  /** The guest's actor state as last heard (lacp.ts STATE bits), and whether that is aggregated. */
  state: number;
  aggregated: boolean;
  /** The guest's system (MAC) and key. */
  system: string;
  key: number;
  /** Milliseconds since the switch started when the port first aggregated. */
  aggregatedAtMs: number | null;
  /** Data frames dropped because the port was not aggregated. */
  notAggregated: number;
}

export interface PortCounters {
  /** Frames from the guest tagged with the VLAN, forwarded (tag popped) to the server. */
  tagged: number;
  /** Frames from the guest dropped: untagged, by EtherType (hex). */
  untagged: Record<string, number>;
  /** Frames from the guest dropped: tagged with another VLAN, by VLAN id. */
  otherVlan: Record<string, number>;
  /** Frames sent to this guest port (tag pushed). */
  sent: number;
  /** Milliseconds since the switch started when the last tagged frame came from this port. */
  lastTaggedMs: number | null;
  lacp?: LacpCounters;
}

export interface Counters {
  ports: Record<string, PortCounters>;
  /** Frames from the server, each pushed to every guest port. */
  fromServer: number;
  /** Frames forwarded to the server; each came in tagged with the VLAN. */
  toServer: number;
  /** The EtherTypes (inside the tag) of the frames forwarded to the server. */
  toServerTypes: Record<string, number>;
}

const TPID = 0x8100;

/** The frame's VLAN id when it carries an 802.1Q tag, else null (pure). */
export function vlanOf(frame: Buffer): number | null {
  if (frame.length < 18 || frame.readUInt16BE(12) !== TPID) return null;
  return frame.readUInt16BE(14) & 0x0fff;
}

/** The frame without its 802.1Q tag (pure; the frame must carry one). */
export function popTag(frame: Buffer): Buffer {
  return Buffer.concat([frame.subarray(0, 12), frame.subarray(16)]);
}

/** The frame with an 802.1Q tag for vlan (priority 0) after the MAC addresses (pure). */
export function pushTag(frame: Buffer, vlan: number): Buffer {
  const tag = Buffer.alloc(4);
  tag.writeUInt16BE(TPID, 0);
  tag.writeUInt16BE(vlan & 0x0fff, 2);
  return Buffer.concat([frame.subarray(0, 12), tag, frame.subarray(12)]);
}

const hex = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

/** Starts the switch; resolves once every port is bound. stop() closes them and writes the counters a last time. */
export async function startSwitch(cfg: SwitchConfig): Promise<{ counters: Counters; stop(): void }> {
  const t0 = Date.now();
  const counters: Counters = { ports: {}, fromServer: 0, toServer: 0, toServerTypes: {} };
  for (const g of cfg.guests) {
    counters.ports[g.name] = { tagged: 0, untagged: {}, otherVlan: {}, sent: 0, lastTaggedMs: null };
    if (cfg.lacp) counters.ports[g.name]!.lacp = { pdus: 0, state: 0, aggregated: false, system: '', key: 0, aggregatedAtMs: null, notAggregated: 0 };
  }
  let dirty = true;
  const flush = (): void => {
    if (!dirty) return;
    dirty = false;
    writeFileSync(`${cfg.countersFile}.tmp`, JSON.stringify(counters));
    renameSync(`${cfg.countersFile}.tmp`, cfg.countersFile);
  };
  const bind = async (port: number): Promise<Socket> => {
    const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.bind(port, '127.0.0.1', () => res());
    });
    return s;
  };
  const server = await bind(cfg.server.listen);
  const guests = await Promise.all(cfg.guests.map(async (g) => ({ g, sock: await bind(g.listen), c: counters.ports[g.name]! })));
  for (const [i, { g, sock, c }] of guests.entries()) {
    // This port's side of the aggregation: one system and key for every port, the port numbered from 1.
    const self: LacpInfo = { systemPriority: 32768, system: '02:00:00:00:42:00', key: 42, portPriority: 32768, port: i + 1, state: 0 };
    self.state = STATE.activity | STATE.shortTimeout | STATE.aggregation | STATE.sync | STATE.collecting | STATE.distributing;
    const selfMac = `02:00:00:00:42:${(i + 1).toString(16).padStart(2, '0')}`;
    sock.on('message', (frame) => {
      dirty = true;
      if (c.lacp && isLacpdu(frame)) {
        const { actor } = parseLacpdu(frame);
        Object.assign(c.lacp, { state: actor.state, aggregated: aggregated(actor.state), system: actor.system, key: actor.key });
        c.lacp.pdus++;
        if (c.lacp.aggregated && c.lacp.aggregatedAtMs === null) c.lacp.aggregatedAtMs = Date.now() - t0;
        sock.send(lacpdu(selfMac, self, actor), g.peer, '127.0.0.1');
        return;
      }
      if (c.lacp && !c.lacp.aggregated) {
        c.lacp.notAggregated++;
        return;
      }
      const vid = vlanOf(frame);
      if (vid === null) {
        const t = frame.length >= 14 ? hex(frame.readUInt16BE(12)) : 'runt';
        c.untagged[t] = (c.untagged[t] ?? 0) + 1;
        return;
      }
      if (vid !== cfg.vlan) {
        c.otherVlan[String(vid)] = (c.otherVlan[String(vid)] ?? 0) + 1;
        return;
      }
      c.tagged++;
      c.lastTaggedMs = Date.now() - t0;
      const inner = popTag(frame);
      const t = hex(inner.readUInt16BE(12));
      counters.toServerTypes[t] = (counters.toServerTypes[t] ?? 0) + 1;
      counters.toServer++;
      server.send(inner, cfg.server.peer, '127.0.0.1');
    });
    sock.on('error', (e) => process.stderr.write(`vlan-switch: port ${g.name}: ${e.message}\n`));
  }
  server.on('message', (frame) => {
    dirty = true;
    counters.fromServer++;
    const tagged = pushTag(frame, cfg.vlan);
    // On an aggregation, one port carries the frame (the first aggregated one); a plain trunk floods every port.
    const to = cfg.lacp ? guests.filter(({ c }) => c.lacp!.aggregated).slice(0, 1) : guests;
    for (const { g, sock, c } of to) {
      c.sent++;
      sock.send(tagged, g.peer, '127.0.0.1');
    }
  });
  server.on('error', (e) => process.stderr.write(`vlan-switch: server port: ${e.message}\n`));
  flush();
  const timer = setInterval(flush, 200);
  return {
    counters,
    stop() {
      clearInterval(timer);
      dirty = true;
      flush();
      server.close();
      for (const { sock } of guests) sock.close();
    },
  };
}
