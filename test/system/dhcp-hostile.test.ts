// System test (root): a hostile DHCP server (broken replies, a NAK) in a namespace; the client ignores the bad, logs why, takes the good.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleEntry, canRunNetTests, createLab, ip, logText, runInNs, type Lab } from './lib-net/netns.js';
import { startHostile } from './lib-net/servers.js';

const enabled = canRunNetTests();
let lab: Lab;
let entry = '';
let hostile = '';

beforeAll(async () => {
  if (!enabled) return;
  lab = createLab('dhcp-hostile');
  entry = await bundleEntry('./dhcp-entry.ts', lab.dir);
  hostile = await bundleEntry('./hostile-server.ts', lab.dir);
});
afterAll(async () => {
  await lab?.cleanup();
});

describe.skipIf(!enabled)('DHCP against a hostile server', () => {
  it('ignores truncated, mis-sized, foreign and malformed replies with logged reasons, survives a NAK, takes the valid lease', async () => {
    const net = '10.213.21';
    const s = lab.ns('hs');
    const c = lab.ns('hc');
    lab.veth({ ns: c, name: 'vc0' }, { ns: s, name: 'vs0', cidr: `${net}.1/24` });
    // The test server sends to 255.255.255.255 from a socket bound to 0.0.0.0: it needs the same route the client uses.
    ip('-n', s, 'route', 'add', '255.255.255.255', 'dev', 'vs0');
    await startHostile(lab, s, 'hostile', hostile, { serverIp: `${net}.1`, offerIp: `${net}.66`, naks: 1 });
    const run = await runInNs(c, entry, { mode: 'dhcp', links: ['vc0'], timeoutMs: 20_000 });
    const logs = logText(run);
    expect(run.error, logs + '\n' + lab.log('hostile')).toBeUndefined();
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const lease = (run.result!.lease as { ip: string; serverId: string });
    expect(lease).toMatchObject({ ip: `${net}.66`, serverId: `${net}.1` });
    const assignments = run.result!.assignments as Array<{ name: string; value: string }>;
    expect(assignments).toContainEqual(expect.objectContaining({ name: 'IMAGESERVER', value: `${net}.1` }));
    expect(assignments).toContainEqual(expect.objectContaining({ name: 'LOG_SERVER_PORT', value: '5140' }));
    for (const reason of [
      /option \d+ length \d+ runs past the end/, // truncated options
      /length 250 runs past the end/, // bad length
      /has no length byte/,
      /wrong magic cookie 0xdeadbeef/,
      /not a BOOTREPLY \(op 1\)/,
      /packet too short \(100 bytes/,
      /no DHCP message type/,
      /bad DHCP message type/,
      /not Ethernet \(htype 1, hlen 16\)/,
      /wrong xid/,
      /for another client \(chaddr 02:00:00:00:00:99\)/,
      /NAK from 10\.213\.21\.1 on vc0/,
    ]) {
      expect(logs).toMatch(reason);
    }
    expect(logs).toMatch(/DISCOVER 2 on vc0/); // started over after the NAK
    expect(lab.log('hostile')).toMatch(/REQUEST xid \w+: sent NAK[\s\S]*REQUEST xid \w+: sent ACK/);
  });
});
