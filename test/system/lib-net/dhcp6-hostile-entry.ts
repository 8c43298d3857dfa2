// A hostile DHCPv6 server (child process in the server namespace): broken ADVERTISEs before each good one, whose
// DNS servers and domain list options are malformed; with `onlyBroken` it never sends a usable answer.

import { createSocket } from 'node:dgram';
import { decodeDhcp6, encodeDhcp6, encodeOptions6, OPT6, type Dhcp6Option } from '../../../agent/net/dhcp6-packet.js';
import { ipv6Bytes } from '../../../agent/net/ipv6-values.js';

const cfg = JSON.parse(process.argv[2] ?? '{}') as { iface: string; address: string; onlyBroken?: boolean };
const SERVER: Dhcp6Option = { code: OPT6.serverId, data: Buffer.from('000300010200000000ff', 'hex') };
const hex = (code: number, h: string): Dhcp6Option => ({ code, data: Buffer.from(h, 'hex') });

function ia(iaid: Buffer, addr: string, pl = 300, vl = 600): Dhcp6Option {
  const a = { code: OPT6.iaAddr, data: Buffer.concat([ipv6Bytes(addr), Buffer.from([pl >>> 24, (pl >>> 16) & 255, (pl >>> 8) & 255, pl & 255, vl >>> 24, (vl >>> 16) & 255, (vl >>> 8) & 255, vl & 255])]) };
  return { code: OPT6.iaNa, data: Buffer.concat([iaid, Buffer.from('0000012c000001e0', 'hex'), encodeOptions6([a])]) };
}

const sock = createSocket({ type: 'udp6', reuseAddr: true });
sock.on('message', (buf, rinfo) => {
  const d = decodeDhcp6(buf);
  if (!d.ok) return;
  const client = d.msg.options.find((o) => o.code === OPT6.clientId)!;
  const iaid = d.msg.options.find((o) => o.code === OPT6.iaNa)!.data.subarray(0, 4);
  const send = (type: number, options: Dhcp6Option[], raw?: Buffer) => sock.send(raw ?? encodeDhcp6({ type, xid: d.msg.xid, options }), rinfo.port, rinfo.address);
  const bad = [hex(OPT6.dnsServers, 'fd4200'), hex(OPT6.domainList, '05243b72696d00')];
  if (d.msg.type === 1) {
    send(2, [], Buffer.from([2, d.msg.xid >> 16, (d.msg.xid >> 8) & 255, d.msg.xid & 255, 0, 23, 255, 255])); // option overruns the message
    send(2, [client, ia(iaid, cfg.address)]); // no server identifier
    send(2, [client, SERVER, ia(iaid, 'ff02::1')]); // a multicast address offered
    send(2, [client, SERVER, hex(OPT6.iaNa, '0000')]); // a truncated IA_NA
    send(2, [client, SERVER, ia(iaid, cfg.address, 900, 100)]); // preferred beyond valid
    if (!cfg.onlyBroken) send(2, [client, SERVER, ia(iaid, cfg.address), ...bad, hex(OPT6.preference, 'ff')]);
    console.log(`answered SOLICIT ${d.msg.xid}`);
  }
  if (d.msg.type === 3) {
    send(7, [client, SERVER, ia(iaid, cfg.address), ...bad]);
    console.log(`answered REQUEST ${d.msg.xid}`);
  }
});
sock.bind(547, '::', () => {
  sock.addMembership('ff02::1:2', `::%${cfg.iface}`);
  console.log('listening');
});
