// System test (root): the installer's IPv6 against dnsmasq (router advertisements, DHCPv6, AAAA) in network namespaces.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleEntry, canRunNetTests, createLab, ip, logText, runInNs, waitFor, type Lab } from './lib-net/netns.js';
import { startDnsmasq6 } from './lib-net/servers.js';

const enabled = canRunNetTests();
let lab: Lab;
let entry = '';

beforeAll(async () => {
  if (!enabled) return;
  lab = createLab('ipv6-net');
  entry = await bundleEntry('./ipv6-entry.ts', lab.dir);
});
afterAll(async () => {
  await lab?.cleanup();
});

/** A client and a server namespace joined by vc0 <-> vs0; the server has PREFIX::1/64 (and NET.1/24 when given). */
function pair(tag: string, prefix: string, net?: string): { c: string; s: string } {
  const s = lab.ns(`${tag}s`);
  const c = lab.ns(`${tag}c`);
  lab.veth({ ns: c, name: 'vc0' }, { ns: s, name: 'vs0', ...(net ? { cidr: `${net}.1/24` } : {}) });
  ip('-n', s, '-6', 'addr', 'add', `${prefix}::1/64`, 'dev', 'vs0', 'nodad');
  return { c, s };
}

const v4addrs = (ns: string) => ip('-n', ns, '-4', '-o', 'addr', 'show').split('\n').filter((l) => / inet /.test(l) && !/ lo /.test(l));
const v6global = (ns: string) => ip('-n', ns, '-6', '-o', 'addr', 'show', 'dev', 'vc0', 'scope', 'global');

describe.skipIf(!enabled)('IPv6 bring-up', () => {
  it('IPv6 only by DHCPv6: address from the range, default route from the RA, DNS and search from options 23/24, AAAA resolved', async () => {
    const prefix = 'fd42:77:1';
    const { c, s } = pair('d', prefix);
    await startDnsmasq6(lab, s, 'dnsmasq-d', 'vs0', { prefix, mode: 'dhcp6', hosts: { 'imageserver.test': `${prefix}::1` }, domain: 'test' });
    const resolv = join(lab.dir, 'resolv-d.conf');
    const run = await runInNs(c, entry, { params: { IPV4_ASSIGNMENT: 'off', IPV6_ASSIGNMENT: 'dhcp6' }, resolvConf: resolv, ping: `${prefix}::1`, resolve: ['imageserver'] });
    expect(run.error, logText(run) + run.stderr).toBeUndefined();
    const r = run.result!;
    expect(r).toMatchObject({ mode: 'ipv6', iface: 'vc0', ipv6: { mode: 'dhcp6', prefix: 128, gateway: expect.stringMatching(/^fe80::/), dns: [`${prefix}::1`], domains: ['test'] } });
    expect(r.ip).toMatch(new RegExp(`^${prefix}::1[0-9a-f]{2}$`));
    expect(v6global(c)).toContain(`inet6 ${r.ip as string}/128`);
    expect(v4addrs(c)).toEqual([]);
    expect(readFileSync(resolv, 'utf8')).toBe(`# written by si-agent\nsearch test\nnameserver ${prefix}::1\n`);
    expect(r.pinged).toBe(true);
    expect(r.resolved).toEqual({ imageserver: `${prefix}::1` });
    expect(r.dhcp).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'DOMAINNAME', value: 'test', option: 'dhcp6 24' })]));
  });
});

describe.skipIf(!enabled)('IPv6 bring-up, other modes', () => {
  it('SLAAC only: the address the kernel made from the RA prefix, the default route via the router, DNS and search from the RA (RDNSS, DNSSL), AAAA resolved, no DHCPv6', async () => {
    const prefix = 'fd42:77:2';
    const { c, s } = pair('a', prefix);
    await startDnsmasq6(lab, s, 'dnsmasq-a', 'vs0', { prefix, mode: 'slaac', hosts: { 'imageserver.ra.test': `${prefix}::1` }, domain: 'ra.test' });
    const resolv = join(lab.dir, 'resolv-a.conf');
    const run = await runInNs(c, entry, { params: { IPV4_ASSIGNMENT: 'off', IPV6_ASSIGNMENT: 'auto' }, resolvConf: resolv, ping: `${prefix}::1`, resolve: ['imageserver'] });
    expect(run.error, logText(run) + run.stderr).toBeUndefined();
    const r = run.result!;
    expect(r).toMatchObject({ mode: 'ipv6', ipv6: { mode: 'auto', prefix: 64, gateway: expect.stringMatching(/^fe80::/), dns: [`${prefix}::1`], domains: ['ra.test'] } });
    expect(readFileSync(resolv, 'utf8')).toBe(`# written by si-agent\nsearch ra.test\nnameserver ${prefix}::1\n`);
    expect(r.resolved).toEqual({ imageserver: `${prefix}::1` });
    expect(logText(run)).toMatch(new RegExp(`router advertisement from fe80::\\S+: name servers ${prefix}::1, search ra\\.test`));
    expect(r.ip).toMatch(new RegExp(`^${prefix}:`));
    expect(ip('-n', c, '-6', 'route', 'show', 'default')).toMatch(/default via fe80::\S+ dev vc0 proto ra/);
    expect(r.pinged).toBe(true);
    expect(logText(run)).not.toMatch(/DHCPv6/);
    expect(lab.log('dnsmasq-a')).not.toMatch(/DHCPSOLICIT/);
    expect(v4addrs(c)).toEqual([]);
  });

  it('static: IPV6ADDR and IPV6_GATEWAY set with ip -6, DAD waited for, router advertisements ignored', async () => {
    const prefix = '2001:db8:77';
    const { c, s } = pair('t', prefix);
    const run = await runInNs(c, entry, { params: { IPV4_ASSIGNMENT: 'off', IPV6_ASSIGNMENT: 'static', IPV6ADDR: `${prefix}::10/64`, IPV6_GATEWAY: `${prefix}::1`, DNS_SERVERS: `${prefix}::53` }, resolvConf: join(lab.dir, 'resolv-t.conf'), ping: `${prefix}::1` });
    expect(run.error, logText(run) + run.stderr).toBeUndefined();
    expect(run.result).toMatchObject({ mode: 'ipv6', ip: `${prefix}::10`, ipv6: { mode: 'static', prefix: 64, gateway: `${prefix}::1` }, pinged: true });
    expect(v6global(c)).toContain(`inet6 ${prefix}::10/64`);
    expect(ip('-n', c, '-6', 'route', 'show', 'default')).toContain(`default via ${prefix}::1 dev vc0`);
    expect(readFileSync(join(lab.dir, 'resolv-t.conf'), 'utf8')).toBe(`# written by si-agent\nnameserver ${prefix}::53\n`);
    expect(ip('netns', 'exec', c, 'cat', '/proc/sys/net/ipv6/conf/vc0/accept_ra')).toBe('0\n');
    void s;
  });

  it('static: an address another host holds fails DAD, named', async () => {
    const prefix = '2001:db8:78';
    const { c, s } = pair('u', prefix);
    const run = await runInNs(c, entry, { params: { IPV4_ASSIGNMENT: 'off', IPV6_ASSIGNMENT: 'static', IPV6ADDR: `${prefix}::1/64` }, resolvConf: join(lab.dir, 'resolv-u.conf') });
    expect(run.error?.message).toMatch(new RegExp(`${prefix}::1 is in use by another host on the link \\(duplicate address detection failed\\)`));
    void s;
  });

  it('dual stack: DHCPv4 and DHCPv6 at once on one link, one resolv.conf with both families', async () => {
    const prefix = 'fd42:77:4';
    const net = '10.213.64';
    const { c, s } = pair('b', prefix, net);
    await startDnsmasq6(lab, s, 'dnsmasq-b', 'vs0', { prefix, mode: 'dhcp6', net, hosts: { 'imageserver.test': `${prefix}::1` }, domain: 'test', extra: [`--dhcp-option=6,${net}.1`] });
    const resolv = join(lab.dir, 'resolv-b.conf');
    const run = await runInNs(c, entry, { params: { IPV6_ASSIGNMENT: 'dhcp6' }, resolvConf: resolv, ping: `${prefix}::1`, resolve: ['imageserver.test'] });
    expect(run.error, logText(run) + run.stderr).toBeUndefined();
    const r = run.result!;
    expect(r).toMatchObject({ mode: 'dhcp', iface: 'vc0', ipv6: { mode: 'dhcp6' } });
    expect(r.ip).toMatch(/^10\.213\.64\.1\d\d$/);
    expect((r.ipv6 as { address: string }).address).toMatch(new RegExp(`^${prefix}::1[0-9a-f]{2}$`));
    expect(readFileSync(resolv, 'utf8')).toBe(`# written by si-agent\nsearch test\nnameserver ${net}.1\nnameserver ${prefix}::1\n`);
    expect(r.resolved).toEqual({ 'imageserver.test': `${prefix}::1` });
    expect(v4addrs(c)).toHaveLength(1);
  });

  it('neither family: E_PARAM before any link is touched', async () => {
    const { c } = pair('n', 'fd42:77:5');
    const run = await runInNs(c, entry, { params: { IPV4_ASSIGNMENT: 'off' }, resolvConf: join(lab.dir, 'resolv-n.conf') });
    expect(run.error).toMatchObject({ code: 'E_PARAM', message: 'IPV4_ASSIGNMENT=off (test) with IPV6_ASSIGNMENT=off leaves no network to install over' });
  });
});

describe.skipIf(!enabled)('a hostile DHCPv6 server', () => {
  let hostile = '';
  beforeAll(async () => {
    hostile = await bundleEntry('./dhcp6-hostile-entry.ts', lab.dir);
  });

  async function start(tag: string, prefix: string, onlyBroken: boolean): Promise<string> {
    const { c, s } = pair(tag, prefix);
    await startDnsmasq6(lab, s, `ra-${tag}`, 'vs0', { prefix, mode: 'slaac', extra: ['--ra-param=vs0,high,4,300'] });
    lab.daemon(s, `hostile-${tag}`, [process.execPath, hostile, JSON.stringify({ iface: 'vs0', address: `${prefix}::77`, onlyBroken })]);
    await waitFor(() => /listening/.test(lab.log(`hostile-${tag}`)), 10_000, 'the hostile DHCPv6 server');
    return c;
  }

  it('broken ADVERTISEs are ignored with their reasons, malformed DNS and domain options refused, the good address used', async () => {
    const prefix = 'fd42:77:6';
    const c = await start('h', prefix, false);
    const run = await runInNs(c, entry, { params: { IPV4_ASSIGNMENT: 'off', IPV6_ASSIGNMENT: 'dhcp6' }, resolvConf: join(lab.dir, 'resolv-h.conf') });
    expect(run.error, logText(run) + run.stderr).toBeUndefined();
    expect(run.result).toMatchObject({ ip: `${prefix}::77`, ipv6: { dns: [], domains: [] } });
    const log = logText(run);
    expect(log).toMatch(/ignored a message from fe80::\S+ \(\d+ bytes\): options: option 23 at offset 0 claims 65535 bytes/);
    expect(log).toMatch(/no server identifier \(option 2\)/);
    expect(log).toMatch(/IAADDR ff02::1 is a multicast address/);
    expect(log).toMatch(/IA_NA 1 has 2 bytes, needs at least 12/);
    expect(log).toMatch(/preferred lifetime 900 exceeds its valid lifetime 100/);
    expect(log).toMatch(/warn: DHCPv6 on vc0: DNS servers option \(23\) refused: length 3 is not a multiple of 16/);
    expect(log).toMatch(/warn: DHCPv6 on vc0: domain list option \(24\) refused: name "\$;rim" is not a domain name/);
    expect(v6global(c)).toContain(`${prefix}::77/128`);
  });

  it('only broken answers: E_TIMEOUT naming the link, the SOLICITs and the reasons, no crash', async () => {
    const c = await start('k', 'fd42:77:7', true);
    const run = await runInNs(c, entry, { params: { IPV4_ASSIGNMENT: 'off', IPV6_ASSIGNMENT: 'dhcp6' }, resolvConf: join(lab.dir, 'resolv-k.conf'), timeoutMs: 5000 });
    expect(run.code).toBe(1);
    expect(run.error?.code).toBe('E_TIMEOUT');
    expect(run.error?.message).toMatch(/^no DHCPv6 lease on vc0: sent [2-9] SOLICITs over [4-6]\.\d s$/);
    expect(run.error?.details.join('\n')).toMatch(/ignored: .*claims 65535 bytes.*no server identifier/);
  });
});
