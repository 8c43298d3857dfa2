// System test (root): IPv6 only with no DEVICE on a machine with several NICs. The client namespace has several veths,
// each to a server namespace of its own; dnsmasq (router advertisements, DHCPv6) serves only some of them. DHCPv6 or
// SLAAC runs on every link at once: the first link with an address wins, within one link's timeout; a lease another
// link got is given back with a DHCPv6 RELEASE that dnsmasq logs.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleEntry, canRunNetTests, createLab, ip, logText, runInNs, type Lab } from './lib-net/netns.js';
import { startDnsmasq6 } from './lib-net/servers.js';

const enabled = canRunNetTests();
const TIMEOUT_MS = 20_000; // the entry's DHCPv6 and SLAAC deadline for one link
let lab: Lab;
let entry = '';

beforeAll(async () => {
  if (!enabled) return;
  lab = createLab('ipv6-links');
  entry = await bundleEntry('./ipv6-entry.ts', lab.dir);
});
afterAll(async () => {
  await lab?.cleanup();
});

/** A client namespace with n veths vc0..vc<n-1>, each to server namespace <tag>s<i> (vs0 there, PREFIX:<i>::1/64). */
function links(tag: string, prefix: string, n: number): { c: string; servers: string[] } {
  const c = lab.ns(`${tag}c`);
  const servers: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = lab.ns(`${tag}s${i}`);
    lab.veth({ ns: c, name: `vc${i}` }, { ns: s, name: 'vs0' });
    ip('-n', s, '-6', 'addr', 'add', `${prefix}:${i}::1/64`, 'dev', 'vs0', 'nodad');
    servers.push(s);
  }
  return { c, servers };
}

const globals = (ns: string, dev: string) => ip('-n', ns, '-6', '-o', 'addr', 'show', 'dev', dev, 'scope', 'global').trim();
const sysctl = (ns: string, dev: string, key: string) => ip('netns', 'exec', ns, 'cat', `/proc/sys/net/ipv6/conf/${dev}/${key}`).trim();

describe.skipIf(!enabled)('IPv6 on many links, no DEVICE', () => {
  it('DHCPv6 on six links at once, only the last served: it wins within one link timeout, the others are left clean', async () => {
    const prefix = 'fd42:78';
    const { c, servers } = links('m', prefix, 6);
    await startDnsmasq6(lab, servers[5]!, 'dnsmasq-m', 'vs0', { prefix: `${prefix}:5`, mode: 'dhcp6' });
    const run = await runInNs(c, entry, { params: { IPV4_ASSIGNMENT: 'off', IPV6_ASSIGNMENT: 'dhcp6' }, resolvConf: join(lab.dir, 'resolv-m.conf'), timeoutMs: TIMEOUT_MS, ping: `${prefix}:5::1` });
    expect(run.error, logText(run) + run.stderr).toBeUndefined();
    expect(run.result).toMatchObject({ mode: 'ipv6', iface: 'vc5', ipv6: { mode: 'dhcp6', iface: 'vc5' }, pinged: true });
    expect(run.result!.ip).toMatch(new RegExp(`^${prefix}:5::1[0-9a-f]{2}$`));
    const log = logText(run);
    expect(log).toContain('IPv6 only (IPV4_ASSIGNMENT=off): dhcp6 on vc0, vc1, vc2, vc3, vc4, vc5 at once; the first link with an address wins');
    expect(log).toMatch(/IPv6: using vc5 \(fd42:78:5::1[0-9a-f]{2}\), the first link with a DHCPv6 lease/);
    // Every link solicited: all at once, none waited for another.
    for (let i = 0; i < 6; i++) expect(log).toMatch(new RegExp(`DHCPv6 on vc${i}: SOLICIT 1 sent`));
    // The lease came long before one link's deadline (the links did not take turns).
    expect(run.ms).toBeLessThan(TIMEOUT_MS);
    for (let i = 0; i < 5; i++) {
      expect(globals(c, `vc${i}`)).toBe('');
      expect(sysctl(c, `vc${i}`, 'accept_ra')).toBe('0');
    }
    expect(globals(c, 'vc5')).toContain(`inet6 ${run.result!.ip as string}/128`);
  });

  it('two links both served: the first with a lease and a router wins, the other lease is released (DHCPv6 RELEASE)', async () => {
    const prefix = 'fd42:79';
    const { c, servers } = links('r', prefix, 2);
    await startDnsmasq6(lab, servers[0]!, 'dnsmasq-r0', 'vs0', { prefix: `${prefix}:0`, mode: 'dhcp6' });
    // The second server's router advertisements carry lifetime 0 (no default router): its link waits for a route, so
    // it finishes second with its lease in hand.
    await startDnsmasq6(lab, servers[1]!, 'dnsmasq-r1', 'vs0', { prefix: `${prefix}:1`, mode: 'dhcp6', extra: ['--ra-param=vs0,4,0'] });
    const run = await runInNs(c, entry, { params: { IPV4_ASSIGNMENT: 'off', IPV6_ASSIGNMENT: 'dhcp6' }, resolvConf: join(lab.dir, 'resolv-r.conf'), timeoutMs: TIMEOUT_MS });
    expect(run.error, logText(run) + run.stderr).toBeUndefined();
    expect(run.result).toMatchObject({ iface: 'vc0', ipv6: { gateway: expect.stringMatching(/^fe80::/) } });
    const log = logText(run);
    const released = new RegExp(`DHCPv6: released (${prefix}:1::1[0-9a-f]{2}) on vc1 \\(server fe80::\\S+\\)`).exec(log);
    expect(released, log).not.toBeNull();
    expect(lab.log('dnsmasq-r1')).toMatch(new RegExp(`DHCPRELEASE\\(vs0\\)[\\s\\S]*${released![1]!}|${released![1]!}[\\s\\S]*DHCPRELEASE`));
    expect(globals(c, 'vc1')).toBe('');
    expect(globals(c, 'vc0')).toContain(`inet6 ${run.result!.ip as string}/128`);
  });

  it('SLAAC on three links at once, router advertisements only on the second: it wins', async () => {
    const prefix = 'fd42:7a';
    const { c, servers } = links('s', prefix, 3);
    await startDnsmasq6(lab, servers[1]!, 'dnsmasq-s', 'vs0', { prefix: `${prefix}:1`, mode: 'slaac' });
    const run = await runInNs(c, entry, { params: { IPV4_ASSIGNMENT: 'off', IPV6_ASSIGNMENT: 'auto' }, resolvConf: join(lab.dir, 'resolv-s.conf'), timeoutMs: TIMEOUT_MS, ping: `${prefix}:1::1` });
    expect(run.error, logText(run) + run.stderr).toBeUndefined();
    expect(run.result).toMatchObject({ iface: 'vc1', ipv6: { mode: 'auto', prefix: 64 }, pinged: true });
    expect(run.result!.ip).toMatch(new RegExp(`^${prefix}:1:`));
    expect(run.ms).toBeLessThan(TIMEOUT_MS);
    expect(sysctl(c, 'vc0', 'autoconf')).toBe('0');
    expect(sysctl(c, 'vc2', 'autoconf')).toBe('0');
  });

  it('no server on any link: E_TIMEOUT naming every link', async () => {
    const { c } = links('n', 'fd42:7b', 2);
    const run = await runInNs(c, entry, { params: { IPV4_ASSIGNMENT: 'off', IPV6_ASSIGNMENT: 'dhcp6' }, resolvConf: join(lab.dir, 'resolv-n.conf'), timeoutMs: 4000 });
    expect(run.error?.code).toBe('E_TIMEOUT');
    expect(run.error?.message).toMatch(/^no IPv6 address \(dhcp6\) on any of vc0, vc1 after [3-6]\.\d s$/);
    expect(run.error?.details.join('\n')).toMatch(/no DHCPv6 lease on vc0[\s\S]*no DHCPv6 lease on vc1/);
  });
});
