import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunOptions, RunResult, Runner } from '../../../agent/exec/runner.js';
import { describeStack, linkStackCommands, setUpLinkStack } from '../../../agent/net/link-stack.js';
import { resolveParamsFromSources } from '../../../agent/params/resolve.js';
import { readNetStack } from '../../../agent/params/net-stack.js';
import { Reporter } from '../../../agent/report/events.js';

// The argv lists the stack would run; the stack itself is built for real only in QEMU (this host's kernel has no
// bonding, 8021q or dummy module).
const nics = new Map([['eth0', '52:54:00:00:00:01'], ['eth1', '52:54:00:00:00:02'], ['lo', '00:00:00:00:00:00']]);
const stackOf = (cmdline: string, localCfg = '') => {
  const r = resolveParamsFromSources({ cmdlineText: cmdline, localCfgs: localCfg ? [{ file: '/l', text: localCfg }] : [] });
  expect(r.problems).toEqual([]);
  return readNetStack(r.params).stack!;
};
const ip = (cmds: string[][]) => cmds.map((c) => c.join(' '));

describe('linkStackCommands', () => {
  it('VLAN 42 on an active-backup bond, MTU 9000 (dracut words)', () => {
    const s = stackOf('bond=bond0:eth0,eth1:mode=active-backup,miimon=100:9000 vlan=bond0.42:bond0 ip=bond0.42:dhcp');
    expect(ip(linkStackCommands(s, nics))).toEqual([
      'link add name bond0 type bond mode active-backup miimon 100',
      'link set dev eth0 down', 'link set dev eth0 master bond0',
      'link set dev eth1 down', 'link set dev eth1 master bond0',
      'link set dev bond0 mtu 9000 up',
      'link set dev eth0 up', 'link set dev eth1 up',
      'link add link bond0 name bond0.42 type vlan id 42',
      'link set dev bond0.42 mtu 9000 up',
    ]);
    expect(s.top).toBe('bond0.42');
    expect(describeStack(s)).toBe('bond0.42 (VLAN 42 on bond0 (active-backup over eth0, eth1)), MTU 9000');
  });
  it('802.3ad with LACP options from local.cfg names, slaves by MAC', () => {
    const s = stackOf('', 'BOND_SLAVES="52:54:00:00:00:02 52:54:00:00:00:01"\nBOND_OPTS="mode=4 miimon=100 lacp_rate=1 xmit_hash_policy=layer3+4"\n');
    expect(ip(linkStackCommands(s, nics))).toEqual([
      'link add name bond0 type bond mode 802.3ad miimon 100 lacp_rate fast xmit_hash_policy layer3+4',
      'link set dev eth1 down', 'link set dev eth1 master bond0',
      'link set dev eth0 down', 'link set dev eth0 master bond0',
      'link set dev bond0 up',
      'link set dev eth1 up', 'link set dev eth0 up',
    ]);
  });
  it('a VLAN on a NIC with jumbo frames: the parent first', () => {
    const s = stackOf('vlan=eth1.0042:eth1 ip=eth1.0042:dhcp:9000');
    expect(ip(linkStackCommands(s, nics))).toEqual(['link set dev eth1 mtu 9000 up', 'link add link eth1 name eth1.0042 type vlan id 42', 'link set dev eth1.0042 mtu 9000 up']);
  });
  it('renames first (ifname=), then builds on the new names; what exists already is not made again', () => {
    const s = stackOf('ifname=lan0:52:54:00:00:00:02 ifname=eth0:52:54:00:00:00:01 bond=bond0:lan0,eth0:mode=balance-alb ip=bond0:dhcp');
    expect(ip(linkStackCommands(s, nics))).toEqual([
      'link set dev eth1 down', 'link set dev eth1 name lan0',
      'link add name bond0 type bond mode balance-alb',
      'link set dev lan0 down', 'link set dev lan0 master bond0', 'link set dev eth0 down', 'link set dev eth0 master bond0',
      'link set dev bond0 up', 'link set dev lan0 up', 'link set dev eth0 up',
    ]);
    const again = new Map([...nics, ['bond0', '52:54:00:00:00:01']]);
    expect(ip(linkStackCommands(stackOf('bond=bond0:eth0,eth1'), again))[0]).toBe('link set dev eth0 down');
  });
  it('a MAC no link has is an error naming it', () => {
    expect(() => linkStackCommands(stackOf('', 'BOND_SLAVES=52:54:00:00:00:09\n'), nics)).toThrow('no network link has the MAC address 52:54:00:00:00:09 (links: eth0, eth1, lo)');
  });
});

describe('setUpLinkStack', () => {
  const root = mkdtempSync(join(tmpdir(), 'si-link-stack-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const sys = (links: Record<string, string>) => {
    const dir = mkdtempSync(join(root, 'sys-'));
    for (const [n, mac] of Object.entries(links)) {
      mkdirSync(join(dir, n));
      writeFileSync(join(dir, n, 'address'), mac + '\n');
      writeFileSync(join(dir, n, 'type'), '1\n');
      writeFileSync(join(dir, n, 'carrier'), '1\n');
    }
    return dir;
  };
  const recorder = (fail?: string) => {
    const calls: string[] = [];
    const run: Runner = async (tool: string, args: readonly string[], _o: RunOptions = {}): Promise<RunResult> => {
      calls.push([tool, ...args].join(' '));
      const code = fail && args.join(' ').includes(fail) ? 2 : 0;
      return { argv: [tool, ...args], code, signal: null, stdout: '', stderr: code ? 'RTNETLINK answers: Operation not supported' : '', ms: 1 };
    };
    return { run, calls };
  };
  const params = (cmdline: string) => resolveParamsFromSources({ cmdlineText: cmdline, localCfgs: [] }).params;

  it('loads bonding and 8021q, runs the commands and hands back the top link', async () => {
    const dir = sys({ eth0: '52:54:00:00:00:01', eth1: '52:54:00:00:00:02', 'bond0.42': '52:54:00:00:00:01' });
    const { run, calls } = recorder();
    const top = await setUpLinkStack({ params: params('bond=bond0:eth0,eth1:mode=active-backup vlan=bond0.42:bond0'), run, report: new Reporter(), sysClassNet: dir });
    expect(calls.slice(0, 2)).toEqual(['modprobe bonding max_bonds=0', 'modprobe 8021q']); // no bond0 of the module's own
    expect(calls[2]).toBe('ip link add name bond0 type bond mode active-backup');
    expect(calls).not.toContain('ip link add link bond0 name bond0.42 type vlan id 42'); // there already
    expect(top).toMatchObject({ name: 'bond0.42', carrier: true });
  });
  it('MTU alone goes on every Ethernet link (or DEVICE) and leaves DHCP as it was', async () => {
    const dir = sys({ eth0: '52:54:00:00:00:01', eth1: '52:54:00:00:00:02' });
    const { run, calls } = recorder();
    expect(await setUpLinkStack({ params: params('MTU=9000'), run, report: new Reporter(), sysClassNet: dir })).toBeUndefined();
    expect(calls).toEqual(['ip link set dev eth0 mtu 9000', 'ip link set dev eth1 mtu 9000']);
  });
  it('a refused command fails naming it and the kernel message', async () => {
    const dir = sys({ eth0: '52:54:00:00:00:01', eth1: '52:54:00:00:00:02' });
    const { run } = recorder('type bond');
    await expect(setUpLinkStack({ params: params('bond ip=bond0:dhcp'), run, report: new Reporter(), sysClassNet: dir })).rejects.toThrow(
      'cannot set up bond0: ip link add name bond0 type bond: RTNETLINK answers: Operation not supported',
    );
  });
  it('no network parameters: nothing runs', async () => {
    const { run, calls } = recorder();
    expect(await setUpLinkStack({ params: params('ip=dhcp'), run, report: new Reporter(), sysClassNet: sys({}) })).toBeUndefined();
    expect(calls).toEqual([]);
  });
});
