import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunOptions, RunResult, Runner } from '../../../agent/exec/runner.js';
import { configureNetwork } from '../../../agent/net/configure.js';
import { listEthernetLinks, waitForCarrier, writeResolvConf } from '../../../agent/net/links.js';
import { pingHost } from '../../../agent/net/ping.js';
import type { Params } from '../../../agent/params/types.js';
import { Reporter, type SiEvent } from '../../../agent/report/events.js';

const root = mkdtempSync(join(tmpdir(), 'si-net-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fakeSys(links: Record<string, { type?: string; address?: string; carrier?: string; bridge?: boolean }>): string {
  const dir = mkdtempSync(join(root, 'sys-'));
  for (const [name, l] of Object.entries(links)) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'type'), (l.type ?? '1') + '\n');
    writeFileSync(join(dir, name, 'address'), (l.address ?? '52:54:00:00:00:01') + '\n');
    if (l.carrier !== undefined) writeFileSync(join(dir, name, 'carrier'), l.carrier + '\n');
    writeFileSync(join(dir, name, 'operstate'), 'up\n');
    if (l.bridge) mkdirSync(join(dir, name, 'bridge'));
  }
  return dir;
}

function fakeRunner(codes: (argv: string[]) => number = () => 0): { run: Runner; calls: string[][] } {
  const calls: string[][] = [];
  const run: Runner = async (tool: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> => {
    const argv = [tool, ...args];
    // A batch read from standard input is recorded with its lines.
    calls.push(opts.input !== undefined ? [...argv, ...String(opts.input).trim().split('\n')] : argv);
    const code = codes(argv);
    if (code !== 0 && !opts.allowFail) throw new Error(`${tool} failed`);
    return { argv, code, signal: null, stdout: '', stderr: '', ms: 1 };
  };
  return { run, calls };
}

const params = (o: Record<string, string>): Params => new Map(Object.entries(o).map(([k, v]) => [k, { value: v, source: 'cmdline' }]));

describe('links', () => {
  it('lists Ethernet links only, sorted numerically, with carrier and MAC', async () => {
    const sys = fakeSys({ eth10: { carrier: '1' }, eth2: { carrier: '0', address: '52:54:00:00:00:02' }, lo: { type: '772' }, br0: { bridge: true }, wlan: { type: '801' }, veth9: {} });
    const links = await listEthernetLinks(sys);
    expect(links.map((l) => [l.name, l.carrier])).toEqual([['eth2', false], ['eth10', true], ['veth9', undefined]]);
    expect(links[0]!.mac).toEqual(Buffer.from([0x52, 0x54, 0, 0, 0, 2]));
  });

  it('waits for carrier', async () => {
    const sys = fakeSys({ eth0: { carrier: '0' } });
    setTimeout(() => writeFileSync(join(sys, 'eth0', 'carrier'), '1\n'), 100);
    expect(await waitForCarrier('eth0', 2000, { sysClassNet: sys, pollMs: 20 })).toBe(true);
    expect(await waitForCarrier('eth9', 100, { sysClassNet: sys, pollMs: 20 })).toBe(false);
  });

  it('writes resolv.conf with validated servers only', async () => {
    const f = join(root, 'resolv.conf');
    await writeResolvConf(f, ['10.0.0.53', 'evil; rm -rf /'], 'cluster.example');
    expect(readFileSync(f, 'utf8')).toBe('# written by si-agent\nsearch cluster.example\nnameserver 10.0.0.53\n');
  });
});

describe('configureNetwork (static)', () => {
  it('sets the address, its route and the default route from the parameters, in one ip batch', async () => {
    const sys = fakeSys({ eth0: { carrier: '1' }, eth1: { carrier: '1' } });
    const { run, calls } = fakeRunner();
    const res = await configureNetwork({ params: params({ DEVICE: 'eth1', IPADDR: '10.213.5.9', NETMASK: '255.255.255.0', BROADCAST: '10.213.5.255', GATEWAY: '10.213.5.1' }), run, report: new Reporter(), resolvConfPath: join(root, 'r'), sysClassNet: sys });
    expect(res).toEqual({ mode: 'static', iface: 'eth1', ip: '10.213.5.9', dhcp: [] });
    expect(calls).toEqual([
      ['ip', 'link', 'set', 'dev', 'eth1', 'up'],
      ['ip', '-force', '-batch', '-',
        'addr replace 10.213.5.9/24 broadcast 10.213.5.255 dev eth1',
        'route replace 10.213.5.0/24 dev eth1 proto kernel scope link src 10.213.5.9 quickack 1',
        'route replace default via 10.213.5.1 dev eth1 quickack 1'],
    ]);
  });

  it('uses the first link with carrier when DEVICE is not set, and GATEWAYDEV for the route', async () => {
    const sys = fakeSys({ eth0: { carrier: '0' }, eth1: { carrier: '1' } });
    const { run, calls } = fakeRunner();
    const report = new Reporter();
    const events: SiEvent[] = [];
    report.addSink((e) => events.push(e));
    const res = await configureNetwork({ params: params({ IPADDR: '192.168.7.9', GATEWAY: '192.168.7.1', GATEWAYDEV: 'eth0' }), run, report, resolvConfPath: join(root, 'r'), sysClassNet: sys, carrierWaitMs: 100 });
    expect(res.iface).toBe('eth1');
    expect(calls.at(-1)).toEqual(['ip', '-force', '-batch', '-',
      'addr replace 192.168.7.9/24 broadcast + dev eth1',
      'route replace 192.168.7.0/24 dev eth1 proto kernel scope link src 192.168.7.9 quickack 1',
      'route replace default via 192.168.7.1 dev eth0 quickack 1']);
    expect(events.some((e) => e.type === 'log' && /classful \/24/.test(e.message))).toBe(true);
  });

  it('fails clearly on an unknown DEVICE or a bad NETMASK', async () => {
    const sys = fakeSys({ eth0: { carrier: '1' } });
    const { run } = fakeRunner();
    await expect(configureNetwork({ params: params({ DEVICE: 'eth5', IPADDR: '10.0.0.2' }), run, report: new Reporter(), resolvConfPath: 'x', sysClassNet: sys })).rejects.toThrow(/DEVICE=eth5: no such Ethernet link \(found: eth0\)/);
    await expect(configureNetwork({ params: params({ IPADDR: '10.0.0.2', NETMASK: '255.0.255.0' }), run, report: new Reporter(), resolvConfPath: 'x', sysClassNet: sys })).rejects.toThrow(/not a contiguous netmask/);
  });
});

describe('pingHost', () => {
  it('answers true on the first success', async () => {
    const { run, calls } = fakeRunner((argv) => (calls.length === 2 ? 0 : 1));
    expect(await pingHost('10.0.0.1', { run, report: new Reporter(), pauseMs: 1 })).toBe(true);
    expect(calls[0]).toEqual(['ping', '-c', '1', '-W', '2', '--', '10.0.0.1']);
    expect(calls.length).toBe(2);
  });
  it('tries three times, then warns and goes on', async () => {
    const { run, calls } = fakeRunner(() => 1);
    const events: SiEvent[] = [];
    const report = new Reporter();
    report.addSink((e) => events.push(e));
    expect(await pingHost('10.0.0.1', { run, report, pauseMs: 1 })).toBe(false);
    expect(calls.length).toBe(3);
    expect(events.some((e) => e.type === 'log' && e.level === 'warn' && /did not answer 3 pings/.test(e.message))).toBe(true);
  });
});
