// A minimal HTTP BitTorrent tracker listening on one IPv6 address, for the IPv6 transport test. Debian's opentracker
// is built V4-only (it exits with "Tracker is V4 only!" when given an IPv6 address), so this stands in for it: announce
// only, compact answers with IPv6 peers in `peers6` (BEP 7) and IPv4 ones in `peers` (BEP 23), the asking peer left
// out, `stopped` honoured. Each announce is logged as `announce <address> <port> <event>` for the test to read.

import { createServer } from 'node:http';
import { isIPv4 } from 'node:net';

const [address, portText] = process.argv.slice(2);
const swarms = new Map<string, Map<string, { ip: string; port: number }>>();

/** The raw bytes of a percent-encoded query value (info_hash is binary). */
function rawParam(query: string, name: string): Buffer | undefined {
  const m = new RegExp(`(?:^|&)${name}=([^&]*)`).exec(query);
  if (!m) return undefined;
  const bytes: number[] = [];
  const v = m[1]!;
  for (let i = 0; i < v.length; i++) {
    if (v[i] === '%') {
      bytes.push(parseInt(v.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(v.charCodeAt(i));
  }
  return Buffer.from(bytes);
}

function v6Bytes(ip: string): Buffer {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

const str = (b: Buffer) => Buffer.concat([Buffer.from(`${b.length}:`), b]);

createServer((req, res) => {
  const query = (req.url ?? '').replace(/^[^?]*\??/, '');
  const hash = rawParam(query, 'info_hash')?.toString('hex');
  const port = Number(rawParam(query, 'port')?.toString() ?? 0);
  const event = rawParam(query, 'event')?.toString() ?? '';
  const ip = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  console.log(`announce ${ip} ${port} ${event || '-'}`);
  if (!hash) {
    res.end('d14:failure reason12:no info hashe');
    return;
  }
  const swarm = swarms.get(hash) ?? new Map<string, { ip: string; port: number }>();
  swarms.set(hash, swarm);
  const key = `${ip} ${port}`;
  const others = [...swarm.entries()].filter(([k]) => k !== key).map(([, p]) => p);
  if (event === 'stopped') swarm.delete(key);
  else swarm.set(key, { ip, port });
  const p4 = Buffer.concat(others.filter((p) => isIPv4(p.ip)).map((p) => Buffer.from([...p.ip.split('.').map(Number), p.port >> 8, p.port & 0xff])));
  const p6 = Buffer.concat(others.filter((p) => !isIPv4(p.ip)).map((p) => Buffer.concat([v6Bytes(p.ip), Buffer.from([p.port >> 8, p.port & 0xff])])));
  res.end(Buffer.concat([Buffer.from('d8:intervali10e5:peers'), str(p4), Buffer.from('6:peers6'), str(p6), Buffer.from('e')]));
}).listen(Number(portText), address, () => console.log('listening'));
