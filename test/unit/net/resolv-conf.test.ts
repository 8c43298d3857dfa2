// The installer's resolv.conf: IPv6 name servers from DNS_SERVERS and dracut's nameserver= (bare or bracketed), beside a
// static address or a DHCP lease, and DHCPv6's servers and search domains after IPv4's.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunResult, Runner } from '../../../agent/exec/runner.js';
import { configureNetwork } from '../../../agent/net/configure.js';
import { writeResolvConf } from '../../../agent/net/links.js';
import { leaseNameServers, mergeResolvLists, readDnsServers } from '../../../agent/net/resolv-conf.js';
import { resolveParamsFromSources } from '../../../agent/params/resolve.js';
import { Reporter } from '../../../agent/report/events.js';

const root = mkdtempSync(join(tmpdir(), 'si-resolv-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const fromCmdline = (text: string) => {
  const r = resolveParamsFromSources({ cmdlineText: text, localCfgs: [] });
  expect(r.problems).toEqual([]);
  return r.params;
};
const fromLocalCfg = (text: string) => resolveParamsFromSources({ cmdlineText: '', localCfgs: [{ file: '/local.cfg', text }] }).params;

describe('name servers from the parameters', () => {
  it.each([
    ['nameserver=[fd00::53]', ['fd00::53']],
    ['nameserver=fd00::53 nameserver=10.0.0.53', ['fd00::53', '10.0.0.53']],
    ['ip=10.0.0.7::10.0.0.1:24:node7:eth0:none nameserver=[fd00::53]', ['fd00::53']],
  ])('dracut %s', (cmdline, want) => expect(readDnsServers(fromCmdline(cmdline))).toEqual(want));

  it('DNS_SERVERS in local.cfg: IPv6 bare or in brackets, space- or comma-separated', () => {
    expect(readDnsServers(fromLocalCfg('DNS_SERVERS="10.0.0.53, [fd00::53] fd00::54"\n'))).toEqual(['10.0.0.53', 'fd00::53', 'fd00::54']);
  });

  it('a DNS_SERVERS entry that is no address is an error naming the source and the entry', () => {
    const r = resolveParamsFromSources({ cmdlineText: 'DNS_SERVERS=10.0.0.53,ns1.example', localCfgs: [{ file: '/local.cfg', text: 'DNS_SERVERS="[fd00::zz]"\n' }] });
    expect(r.problems).toEqual([
      expect.objectContaining({ key: 'DNS_SERVERS', message: '"10.0.0.53,ns1.example" has "ns1.example", which is neither an IPv4 nor an IPv6 address' }),
    ]);
    expect(r.problems[0]!.source).toMatch(/^cmdline/);
    const cfg = resolveParamsFromSources({ cmdlineText: '', localCfgs: [{ file: '/local.cfg', text: 'DNS_SERVERS="10.0.0.053 [fd00::zz]"\n' }] });
    expect(cfg.problems).toEqual([expect.objectContaining({ source: 'local.cfg:/local.cfg:1', key: 'DNS_SERVERS', message: '"10.0.0.053 [fd00::zz]" has "10.0.0.053", which is neither an IPv4 nor an IPv6 address' })]);
  });

  it('beside a DHCP lease: the lease first, then the given ones, each once', () => {
    const p = fromCmdline('ip=dhcp nameserver=[fd00::53] nameserver=10.0.0.53');
    expect(leaseNameServers(['10.0.0.53', '10.0.0.54'], p)).toEqual(['10.0.0.53', '10.0.0.54', 'fd00::53']);
    expect(leaseNameServers(['10.0.0.53'], fromCmdline('ip=dhcp'))).toEqual(['10.0.0.53']);
  });

  it('IPv4, then DHCPv6 servers and domains, then the given ones', () => {
    expect(mergeResolvLists([
      { servers: ['10.0.0.53'], domains: ['lab.example'] },
      { servers: ['fd00::53', '10.0.0.53'], domains: ['v6.lab.example', 'lab.example'] },
      { servers: ['fd00::54'] },
    ])).toEqual({ servers: ['10.0.0.53', 'fd00::53', 'fd00::54'], domains: ['lab.example', 'v6.lab.example'] });
  });

  it('resolv.conf takes IPv6 servers and several search domains, refuses a scoped or bad one', async () => {
    const f = join(root, 'resolv.conf');
    await writeResolvConf(f, ['10.0.0.53', 'fd00::53', 'fe80::1%eth0', 'fd00::zz'], 'lab.example v6.lab.example');
    expect(readFileSync(f, 'utf8')).toBe('# written by si-agent\nsearch lab.example v6.lab.example\nnameserver 10.0.0.53\nnameserver fd00::53\n');
  });
});

describe('the installer writes them', () => {
  it('a static network with nameserver=[fd00::53] on the command line', async () => {
    const sys = join(root, 'sys');
    mkdirSync(join(sys, 'eth0'), { recursive: true });
    for (const [k, v] of Object.entries({ type: '1', address: '52:54:00:00:00:01', carrier: '1', operstate: 'up' })) writeFileSync(join(sys, 'eth0', k), v + '\n');
    const run: Runner = async (tool, args) => ({ argv: [tool, ...args], code: 0, signal: null, stdout: '', stderr: '', ms: 1 }) satisfies RunResult;
    const resolv = join(root, 'static.resolv.conf');
    const params = fromCmdline('ip=10.0.0.7::10.0.0.1:24:node7:eth0:none nameserver=[fd00::53] nameserver=10.0.0.53 DOMAINNAME=lab.example');
    await configureNetwork({ params, run, report: new Reporter(), resolvConfPath: resolv, sysClassNet: sys });
    expect(readFileSync(resolv, 'utf8')).toBe('# written by si-agent\nsearch lab.example\nnameserver fd00::53\nnameserver 10.0.0.53\n');
  });
});
