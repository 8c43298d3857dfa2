// System test (root: a network namespace with a veth pair): the install network's address and routes in one
// `ip -force -batch` run, the routes with quickack (no delayed ACKs toward the image server's daemon), what did not
// take said apart from what did, and values that are not one word refused before ip runs.

import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunner, type Runner } from '../../agent/exec/runner.js';
import { configureInterface } from '../../agent/net/links.js';
import { networkOf } from '../../agent/net/dhcp-values.js';

const isRoot = process.getuid?.() === 0;
const NS = `siconf${process.pid}`;

/** The project's runner, each command run inside the test's namespace; the commands it ran in calls. */
function runnerInNs(calls: string[][] = []): Runner {
  const real = createRunner(null);
  return (tool, args, opts) => {
    calls.push([tool, ...args]);
    return real('ip', ['netns', 'exec', NS, tool, ...args], opts);
  };
}
const routes = () => execFileSync('ip', ['-n', NS, '-4', 'route', 'show'], { encoding: 'utf8' });
const addrs = (dev: string) => execFileSync('ip', ['-n', NS, '-4', '-o', 'addr', 'show', 'dev', dev], { encoding: 'utf8' }).match(/inet \S+ brd \S+/g) ?? [];

describe('networkOf', () => {
  it('masks an address to its network', () => {
    expect(networkOf('10.215.0.111', 24).network).toBe('10.215.0.0');
    expect(networkOf('172.16.5.200', 20).network).toBe('172.16.0.0');
    expect(networkOf('192.168.1.7', 32).network).toBe('192.168.1.7');
    expect(networkOf('192.168.1.7', 0).network).toBe('0.0.0.0');
  });
});

describe.skipIf(!isRoot)('configureInterface (root, namespace)', () => {
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['-n', NS, 'link', 'add', 'c0', 'type', 'veth', 'peer', 'name', 'c1']);
    for (const l of ['c0', 'c1']) execFileSync('ip', ['-n', NS, 'link', 'set', l, 'up']);
  });
  afterAll(() => {
    execFileSync('ip', ['netns', 'del', NS]);
  });

  it('address, subnet route and default route in one ip run, both routes with quickack', async () => {
    const calls: string[][] = [];
    await expect(configureInterface(runnerInNs(calls), { iface: 'c0', ip: '10.77.0.5', prefix: 24, gateway: '10.77.0.1' })).resolves.toEqual({});
    expect(calls).toHaveLength(1);
    expect(addrs('c0')).toEqual(['inet 10.77.0.5/24 brd 10.77.0.255']);
    expect(routes()).toMatch(/^default via 10\.77\.0\.1 dev c0 quickack 1/m);
    expect(routes()).toMatch(/^10\.77\.0\.0\/24 dev c0 proto kernel scope link src 10\.77\.0\.5 quickack 1/m);
  });

  it('a gateway off the subnet: the address and subnet route are set, the default route is said to have failed', async () => {
    const r = await configureInterface(runnerInNs(), { iface: 'c1', ip: '10.78.0.5', prefix: 24, broadcast: '10.78.0.255', gateway: '10.99.0.1' });
    expect(r.defaultRouteError).toMatch(/Nexthop has invalid gateway|unreachable|Network is unreachable/i);
    expect(r.subnetRouteError).toBeUndefined();
    expect(addrs('c1')).toEqual(['inet 10.78.0.5/24 brd 10.78.0.255']);
  });

  it('a link that does not exist: an error naming the address and the link', async () => {
    await expect(configureInterface(runnerInNs(), { iface: 'nosuch0', ip: '10.79.0.5', prefix: 24 })).rejects.toThrow(/cannot set 10\.79\.0\.5\/24 on nosuch0/);
  });

  it('a value that is not one word is refused before ip runs', async () => {
    const calls: string[][] = [];
    await expect(configureInterface(runnerInNs(calls), { iface: 'c0', ip: '10.77.0.5', prefix: 24, gateway: '10.77.0.1', gatewayDev: 'c0 table 5' })).rejects.toThrow(/"c0 table 5"/);
    await expect(configureInterface(runnerInNs(calls), { iface: 'c0', ip: '10.77.0.5\nroute flush all', prefix: 24 })).rejects.toThrow(/not an address/);
    expect(calls).toEqual([]);
  });
});
