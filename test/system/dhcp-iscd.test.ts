// System test (root): the agent's DHCP client against ISC dhcpd with SystemImager's option declarations, in network namespaces.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleEntry, canRunNetTests, createLab, ip, logText, runInNs, type Lab } from './lib-net/netns.js';
import { startIscDhcpd } from './lib-net/servers.js';

const enabled = canRunNetTests();
let lab: Lab;
let entry = '';

beforeAll(async () => {
  if (!enabled) return;
  lab = createLab('dhcp-iscd');
  entry = await bundleEntry('./dhcp-entry.ts', lab.dir);
});
afterAll(async () => {
  await lab?.cleanup();
});

function pair(tag: string, net: string): { c: string; s: string } {
  const s = lab.ns(`${tag}s`);
  const c = lab.ns(`${tag}c`);
  lab.veth({ ns: c, name: 'eth0' }, { ns: s, name: 'vs0', cidr: `${net}.1/24` });
  return { c, s };
}

const assigned = (r: Record<string, unknown> | undefined) =>
  Object.fromEntries(((r?.dhcp ?? r?.assignments) as Array<{ name: string; value: string; option: string }>).map((a) => [a.name, `${a.value} (${a.option})`]));

describe.skipIf(!enabled)('DHCP against ISC dhcpd', () => {
  it('option 140 declared ip-address, 141/143 unsigned integer 16, 142/144 string, plus host name, domain, log server', async () => {
    const net = '10.213.11';
    const { c, s } = pair('i', net);
    await startIscDhcpd(lab, s, 'dhcpd-i', 'vs0', { net }, {
      code140: 'ip-address',
      statements: [
        `option option-140 ${net}.7;`,
        'option option-141 5140;',
        `option option-142 "http://${net}.1/authorized_keys";`,
        'option option-143 9100;',
        'option option-144 "y";',
        'option host-name "node017";',
        'option domain-name "cluster.test";',
        `option log-servers ${net}.9;`,
        `option domain-name-servers ${net}.53;`,
        `option routers ${net}.1;`,
        `option broadcast-address ${net}.255;`,
      ],
    });
    const run = await runInNs(c, entry, { mode: 'configure', timeoutMs: 20_000, resolvConf: join(lab.dir, 'resolv-i.conf') });
    expect(run.error, logText(run) + '\n' + lab.log('dhcpd-i')).toBeUndefined();
    const r = run.result!;
    expect(r).toMatchObject({ mode: 'dhcp', iface: 'eth0' });
    expect(assigned(r)).toMatchObject({
      IMAGESERVER: `${net}.7 (140)`,
      LOG_SERVER_PORT: '5140 (141)',
      SSH_DOWNLOAD_URL: `http://${net}.1/authorized_keys (142)`,
      FLAMETHROWER_DIRECTORY_PORTBASE: '9100 (143)',
      TMPFS_STAGING: 'y (144)',
      HOSTNAME: 'node017 (12)',
      DOMAINNAME: 'cluster.test (15)',
      LOG_SERVER: `${net}.9 (7)`,
      NETMASK: '255.255.255.0 (1)',
      BROADCAST: `${net}.255 (28)`,
      GATEWAY: `${net}.1 (3)`,
    });
    expect((r.lease as { leaseSeconds: number; problems: string[] }).leaseSeconds).toBe(120);
    expect((r.lease as { problems: string[] }).problems).toEqual([]);
    expect(ip('-n', c, '-4', '-o', 'addr', 'show', 'dev', 'eth0')).toContain(`inet ${r.ip}/24`);
    expect(lab.log('dhcpd-i')).toMatch(/DHCPACK on 10\.213\.11\.\d+ to/);
  });

  it('option 140 declared text (older SystemImager dhcpd.conf)', async () => {
    const net = '10.213.12';
    const { c, s } = pair('t', net);
    await startIscDhcpd(lab, s, 'dhcpd-t', 'vs0', { net }, { code140: 'text', statements: [`option option-140 "${net}.7";`, 'option option-141 514;'] });
    const run = await runInNs(c, entry, { mode: 'dhcp', links: ['eth0'], timeoutMs: 20_000 });
    expect(run.error, logText(run) + '\n' + lab.log('dhcpd-t')).toBeUndefined();
    expect(assigned(run.result)).toMatchObject({ IMAGESERVER: `${net}.7 (140)`, LOG_SERVER_PORT: '514 (141)' });
  });
});
