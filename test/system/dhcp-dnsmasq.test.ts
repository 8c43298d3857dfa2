// System test (root): the agent's DHCP client and network bring-up against dnsmasq in network namespaces.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleEntry, canRunNetTests, createLab, ip, logText, runInNs, waitFor, type Lab } from './lib-net/netns.js';
import { startDnsmasq } from './lib-net/servers.js';

const enabled = canRunNetTests();
let lab: Lab;
let entry = '';

beforeAll(async () => {
  if (!enabled) return;
  lab = createLab('dhcp-dnsmasq');
  entry = await bundleEntry('./dhcp-entry.ts', lab.dir);
});
afterAll(async () => {
  await lab?.cleanup();
});

/** A client and a server namespace joined by vc0 <-> vs0 (server at NET.1/24). */
function pair(tag: string, net: string): { c: string; s: string } {
  const s = lab.ns(`${tag}s`);
  const c = lab.ns(`${tag}c`);
  lab.veth({ ns: c, name: 'vc0' }, { ns: s, name: 'vs0', cidr: `${net}.1/24` });
  return { c, s };
}

const assigned = (r: Record<string, unknown> | undefined) =>
  Object.fromEntries(((r?.dhcp ?? r?.assignments) as Array<{ name: string; value: string; option: string }>).map((a) => [a.name, `${a.value} (${a.option})`]));

describe.skipIf(!enabled)('DHCP against dnsmasq', () => {
  it('brings the link up from a lease with options 140-144 as addresses/integers/strings, routes, resolv.conf and a ping', async () => {
    const net = '10.213.1';
    const { c, s } = pair('a', net);
    await startDnsmasq(lab, s, 'dnsmasq-a', 'vs0', { net }, [`140,${net}.7`, '141,5140', `142,http://${net}.1/keys`, '143,9100', '144,yes', `6,${net}.53`, '15,cluster.test', `7,${net}.9`]);
    const resolv = join(lab.dir, 'resolv-a.conf');
    const run = await runInNs(c, entry, { mode: 'configure', timeoutMs: 20_000, resolvConf: resolv, ping: `${net}.1` });
    expect(run.error, logText(run)).toBeUndefined();
    expect(run.code).toBe(0);
    const r = run.result!;
    expect(r).toMatchObject({ mode: 'dhcp', iface: 'vc0' });
    expect(r.ip).toMatch(/^10\.213\.1\.(1[0-4]\d|150)$/);
    expect(assigned(r)).toMatchObject({
      IMAGESERVER: `${net}.7 (140)`,
      LOG_SERVER_PORT: '5140 (141)',
      SSH_DOWNLOAD_URL: `http://${net}.1/keys (142)`,
      FLAMETHROWER_DIRECTORY_PORTBASE: '9100 (143)',
      TMPFS_STAGING: 'yes (144)',
      LOG_SERVER: `${net}.9 (7)`,
      DOMAINNAME: 'cluster.test (15)',
      GATEWAY: `${net}.1 (3)`,
      IPADDR: `${r.ip} (yiaddr)`,
      DEVICE: 'vc0 (link)',
    });
    expect(ip('-n', c, '-4', '-o', 'addr', 'show', 'dev', 'vc0')).toContain(`inet ${r.ip}/24 brd ${net}.255`);
    // The address has no lifetime of its own: a 2-minute lease expiring mid-install changes nothing.
    expect(ip('-n', c, '-4', 'addr', 'show', 'dev', 'vc0')).toMatch(/valid_lft forever preferred_lft forever/);
    expect(ip('-n', c, 'route', 'show', 'default')).toContain(`default via ${net}.1 dev vc0`);
    expect(ip('-n', c, 'route', 'show', '255.255.255.255')).toBe('');
    expect(readFileSync(resolv, 'utf8')).toBe(`# written by si-agent\nsearch cluster.test\nnameserver ${net}.53\n`);
    expect(r.pinged).toBe(true);
  });

  const forms: Array<[string, string, string]> = [
    ['option 140 as a quoted string (dotted quad), 141 as one byte', '140,"10.213.2.7"', '10.213.2.7 (140)'],
    ['option 140 as the quoted-hex string', '140,"0a:d5:02:08"', '10.213.2.8 (140)'],
    ['no option 140: the server identifier', '6,10.213.2.53', '10.213.2.1 (54)'],
  ];
  forms.forEach(([name, opt, want], i) => {
    it(name, async () => {
      const net = '10.213.2';
      const { c, s } = pair(`f${i}`, net);
      await startDnsmasq(lab, s, `dnsmasq-f${i}`, 'vs0', { net }, [opt, '141,80']);
      const run = await runInNs(c, entry, { mode: 'dhcp', links: ['vc0'], timeoutMs: 20_000 });
      expect(run.error, logText(run)).toBeUndefined();
      expect(assigned(run.result)).toMatchObject({ IMAGESERVER: want, LOG_SERVER_PORT: '80 (141)' });
      expect((run.result!.lease as { problems: string[] }).problems).toEqual([]);
      if (opt.startsWith('140')) expect(lab.log(`dnsmasq-f${i}`)).toMatch(/option:140\s+\w\w:\w\w:\w\w:\w\w:\w\w/); // sent as text, not 4 bytes
    });
  });

  describe('two links, a server behind only one', () => {
    let c = '';
    beforeAll(async () => {
      const net = '10.213.3';
      const s = lab.ns('ts');
      const e = lab.ns('te');
      c = lab.ns('tc');
      lab.veth({ ns: c, name: 'vc0' }, { ns: e, name: 've0' }); // nobody answers here; vc0 sorts first
      lab.veth({ ns: c, name: 'vc1' }, { ns: s, name: 'vs1', cidr: `${net}.1/24` });
      await startDnsmasq(lab, s, 'dnsmasq-t', 'vs1', { net }, [`140,${net}.1`]);
    });

    it('without DEVICE, uses the link that gets a lease and says so', async () => {
      const run = await runInNs(c, entry, { mode: 'configure', timeoutMs: 20_000, resolvConf: join(lab.dir, 'resolv-t.conf') });
      expect(run.error, logText(run)).toBeUndefined();
      expect(run.result).toMatchObject({ mode: 'dhcp', iface: 'vc1' });
      expect(logText(run)).toMatch(/DHCP on vc0, vc1 at once/);
      expect(logText(run)).toMatch(/using vc1 \(10\.213\.3\.\d+\), the first lease that names the image server \(option 140\)/);
      expect(ip('-n', c, '-4', '-o', 'addr', 'show', 'dev', 'vc0')).toBe('');
    });

    it('with DEVICE on the silent link: bounded retries, then E_TIMEOUT naming the interface', async () => {
      const run = await runInNs(c, entry, { mode: 'configure', timeoutMs: 6000, baseMs: 1000, capMs: 2000, params: { DEVICE: 'vc0' } });
      expect(run.code).toBe(1);
      expect(run.error?.code).toBe('E_TIMEOUT');
      expect(run.error?.message).toMatch(/^no DHCP lease on vc0: sent [3-7] DISCOVERs over [5-7]\.\d s/);
      expect(run.events.filter((e) => e.type === 'retry').length).toBeGreaterThanOrEqual(2);
      expect(run.ms).toBeLessThan(15_000);
      expect(ip('-n', c, 'route', 'show', '255.255.255.255')).toBe('');
    });
  });

  describe('many links', () => {
    it('six links, a server behind the last only: DHCP on all at once, no link waits for another', async () => {
      const net = '10.213.4';
      const c = lab.ns('mc');
      for (let i = 0; i < 5; i++) lab.veth({ ns: c, name: `vc${i}` }, { ns: lab.ns(`me${i}`), name: `ve${i}` }); // nobody answers
      const s = lab.ns('ms');
      lab.veth({ ns: c, name: 'vc5' }, { ns: s, name: 'vs5', cidr: `${net}.1/24` });
      await startDnsmasq(lab, s, 'dnsmasq-m', 'vs5', { net }, [`140,${net}.1`]);
      const run = await runInNs(c, entry, { mode: 'configure', timeoutMs: 20_000, baseMs: 2000, capMs: 4000, resolvConf: join(lab.dir, 'resolv-m.conf') });
      expect(run.error, logText(run)).toBeUndefined();
      expect(run.result).toMatchObject({ mode: 'dhcp', iface: 'vc5' });
      const text = logText(run);
      expect(text).toMatch(/DHCP on vc0, vc1, vc2, vc3, vc4, vc5 at once/);
      // The links are not tried in turn: every first DISCOVER goes out before any link's second, and vc5's lease
      // comes within its first two DISCOVERs (dnsmasq checks the address before it offers), so the time to a lease
      // does not grow with the number of links.
      const lines = text.split('\n');
      const firstOf = (iface: string) => lines.findIndex((l) => l.includes(`DISCOVER 1 on ${iface} `));
      const anySecond = lines.findIndex((l) => /DISCOVER 2 on /.test(l));
      for (let i = 0; i < 6; i++) {
        expect(firstOf(`vc${i}`), `vc${i}`).toBeGreaterThanOrEqual(0);
        if (anySecond >= 0) expect(firstOf(`vc${i}`)).toBeLessThan(anySecond);
      }
      expect(text).not.toMatch(/DISCOVER 3 on vc5 /);
    });

    it('two servers: the lease naming the image server (option 140) wins over a faster one, which is released', async () => {
      const netA = '10.213.5';
      const netB = '10.213.6';
      const c = lab.ns('pc');
      const a = lab.ns('pa');
      const b = lab.ns('pb');
      lab.veth({ ns: c, name: 'vc0' }, { ns: a, name: 'va0', cidr: `${netA}.1/24` });
      lab.veth({ ns: c, name: 'vc1' }, { ns: b, name: 'vb1', cidr: `${netB}.1/24` });
      // No ping check before an offer (dnsmasq waits for an echo that never comes, for a time of its own): the plain
      // server answers at once, the one that names the image server a second late, so the plain lease arrives first.
      await startDnsmasq(lab, a, 'dnsmasq-pa', 'va0', { net: netA }, [], ['--no-ping']);
      await startDnsmasq(lab, b, 'dnsmasq-pb', 'vb1', { net: netB }, [`140,${netB}.1`], ['--no-ping', '--dhcp-reply-delay=1']);
      // RFC 2131's first wait (4 s) outlasts the delayed offer: a shorter one would DISCOVER again and lose it.
      const run = await runInNs(c, entry, { mode: 'configure', timeoutMs: 20_000, baseMs: 4000, capMs: 8000, resolvConf: join(lab.dir, 'resolv-p.conf') });
      expect(run.error, logText(run)).toBeUndefined();
      expect(run.result).toMatchObject({ mode: 'dhcp', iface: 'vc1' });
      const text = logText(run);
      expect(text.indexOf('OFFER of 10.213.5.')).toBeLessThan(text.indexOf('OFFER of 10.213.6.'));
      expect(text).toMatch(/DHCP: released 10\.213\.5\.\d+ on vc0 \(server 10\.213\.5\.1\)/);
      await waitFor(() => /DHCPRELEASE\(va0\)/.test(lab.log('dnsmasq-pa')), 5000, `dnsmasq-pa:\n${lab.log('dnsmasq-pa')}`);
      expect(ip('-n', c, '-4', '-o', 'addr', 'show', 'dev', 'vc0')).toBe('');
    });
  });
});
