// Bonds, VLANs, MTU and IPv6 in the installed system's network configuration: golden files per style, names, notes.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParamError } from '../../../agent/errors.js';
import { resolveNetSettings } from '../../../agent/target/net-settings.js';
import type { NetStyle } from '../../../agent/target/net-style.js';
import { BOND, CASES, IMAGES, NAMER, plan, show } from './stack-cases.js';
import { paramsOf } from './fixture-tree.js';

const GOLDEN = join(__dirname, '../../../fixtures/target/stack-golden');

describe('golden configuration per style', () => {
  for (const [name, values] of Object.entries(CASES)) {
    for (const style of Object.keys(IMAGES) as NetStyle[]) {
      it(`${name}: ${style}`, async () => {
        const p = plan(values, style);
        expect(p.style).toBe(style);
        await expect(show(p.changes) + p.notes.map((n) => `# note: ${n}\n`).join('')).toMatchFileSnapshot(join(GOLDEN, name, `${style}.txt`));
      });
    }
  }
});

describe('the installed system', () => {
  it('IPv6 only writes no IPv4 in any style', () => {
    const v = CASES['ipv6-static']!;
    expect(show(plan(v, 'ifupdown').changes)).not.toMatch(/inet (dhcp|static)/);
    expect(show(plan(v, 'networkd').changes)).not.toMatch(/DHCP=|Address=10\./);
    expect(show(plan(v, 'netplan').changes)).toContain('dhcp4: false');
    expect(show(plan(v, 'networkmanager').changes)).toContain('[ipv4]\nmethod=disabled\n');
    expect(show(plan(v, 'ifcfg').changes)).toContain('BOOTPROTO=none\nIPV6INIT=yes');
  });

  it('names slaves given by MAC and a VLAN named after its parent NIC as the installed system does', () => {
    const s = resolveNetSettings(paramsOf(CASES['bond-lacp-dhcp']!), '', NAMER);
    expect(s.bond).toEqual({ name: 'bond0', slaves: ['enp1s0', 'enp2s0'], mode: '802.3ad', options: [['miimon', '100'], ['lacp_rate', 'fast'], ['xmit_hash_policy', 'layer3+4']] });
    expect(s.renamed).toEqual([{ from: 'eth0', to: 'enp1s0', why: 'table' }, { from: 'eth1', to: 'enp2s0', why: 'table' }]);
    const v = resolveNetSettings(paramsOf({ VLAN_ID: '42', VLAN_PARENT: 'eth1' }), '', NAMER);
    expect(v.vlan).toEqual({ id: 42, parent: 'enp2s0', name: 'enp2s0.42' });
    expect(v.nic).toBe('enp2s0');
    const named = resolveNetSettings(paramsOf({ VLAN_ID: '42', VLAN_PARENT: 'eth1', VLAN_NAME: 'prov' }), '', NAMER);
    expect(named.vlan?.name).toBe('prov');
  });

  it('notes bonding options a style has no setting for', () => {
    const p = plan({ ...BOND, BOND_OPTS: 'mode=802.3ad,min_links=1,use_carrier=1' }, 'ifupdown');
    expect(p.notes).toContain('ifupdown (ifenslave) has no setting for the bonding option(s) min_links=1: left out of the installed system\'s configuration');
    expect(plan({ ...BOND, BOND_OPTS: 'mode=802.3ad,use_carrier=1' }, 'networkd').notes.join('\n')).toMatch(/systemd-networkd has no setting for the bonding option\(s\) use_carrier=1/);
  });

  it('reports every bad value at once, each with its source', () => {
    const bad = paramsOf(
      { BOND_SLAVES: 'eth0,52:54:00:00:00:09', MTU: '99999', IPV6_ASSIGNMENT: 'static', IPV6_GATEWAY: 'fe80::1', VLAN_ID: '5000' },
      { MTU: 'local.cfg:/local.cfg:4', IPV6_GATEWAY: 'cmdline' },
    );
    try {
      resolveNetSettings(bad, '', NAMER);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ParamError);
      const problems = (e as ParamError).problems;
      expect(problems.map((p) => p.key).sort()).toEqual(['IPV6_GATEWAY', 'MTU', 'VLAN_ID']);
      expect(problems.find((p) => p.key === 'MTU')).toEqual({ source: 'local.cfg:/local.cfg:4', key: 'MTU', message: '"99999" is not an MTU (68-9216)' });
    }
    // With the kinds right, the cross checks: a MAC no link has, static IPv6 without an address, no address at all.
    const cross = paramsOf({ BOND_SLAVES: 'eth0,52:54:00:00:00:09', IPV6_ASSIGNMENT: 'static', IPV4_ASSIGNMENT: 'off' }, { BOND_SLAVES: 'cmdline bond=bond0:eth0,52:54:00:00:00:09' });
    expect(() => resolveNetSettings(cross, '', NAMER)).toThrow(/cmdline bond=bond0:eth0,52:54:00:00:00:09 BOND_SLAVES: no network link has the MAC address 52:54:00:00:00:09[\s\S]*IPV6ADDR: is needed for IPV6_ASSIGNMENT=static/);
    expect(() => resolveNetSettings(paramsOf({ IPV4_ASSIGNMENT: 'off', DEVICE: 'eth0' }), '', NAMER)).toThrow(/IPV4_ASSIGNMENT: off with IPV6_ASSIGNMENT=off/);
  });

  it('IP_ASSIGNMENT still wins over IPV4_ASSIGNMENT=off', () => {
    const s = resolveNetSettings(paramsOf({ IP_ASSIGNMENT: 'dhcp', IPV4_ASSIGNMENT: 'off', IPV6_ASSIGNMENT: 'auto', DEVICE: 'eth0' }), '', NAMER);
    expect(s.assignment).toBe('dhcp');
    expect(s.nic).toBe('enp1s0');
  });
});
