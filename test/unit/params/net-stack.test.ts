import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../../agent/errors.js';
import { mergeParams } from '../../../agent/params/merge.js';
import { readNetStack } from '../../../agent/params/net-stack.js';
import { checkNetKind, parseBondOpts } from '../../../agent/params/net-values.js';
import { checkValue, validateParams } from '../../../agent/params/validate.js';
import { canonicalName } from '../../../agent/params/names.js';

const cfg = (text: string) => mergeParams([text.split(' ').map((w, i) => ({ name: w.split('=')[0]!, value: w.slice(w.indexOf('=') + 1).replace(/,/g, ' '), source: `local.cfg:/l:${i + 1}` }))]);

describe('network parameter kinds', () => {
  // [name, value, ok]
  const rows: [string, string, boolean][] = [
    ['MTU', '1500', true], ['MTU', '9000', true], ['MTU', '9216', true], ['MTU', '68', true], ['MTU', '67', false], ['MTU', '9217', false], ['MTU', 'jumbo', false],
    ['VLAN_ID', '1', true], ['VLAN_ID', '4094', true], ['VLAN_ID', '0', false], ['VLAN_ID', '4095', false], ['VLAN_ID', '-1', false],
    ['VLAN_PARENT', 'bond0', true], ['VLAN_PARENT', 'enp3s0f1', true], ['VLAN_PARENT', '52:54:00:12:34:56', true], ['VLAN_PARENT', 'eth/0', false], ['VLAN_PARENT', '-eth0', false], ['VLAN_PARENT', 'averyveryverylongname', false],
    ['BOND_NAME', 'bond0', true], ['BOND_NAME', 'bond 0', false], ['BOND_NAME', '52:54:00:12:34:56', false],
    ['BOND_SLAVES', 'eth0,eth1', true], ['BOND_SLAVES', 'eth0 eth1', true], ['BOND_SLAVES', '52:54:00:00:00:01,52:54:00:00:00:02', true], ['BOND_SLAVES', 'eth0,eth0', false], ['BOND_SLAVES', 'eth0;reboot', false],
    ['BOND_OPTS', 'mode=802.3ad,miimon=100,lacp_rate=fast', true], ['BOND_OPTS', 'mode=active-backup miimon=100', true], ['BOND_OPTS', 'mode=6', true], ['BOND_OPTS', 'mode=7', false],
    ['BOND_OPTS', 'mode=balance-alb,primary=eth0', true], ['BOND_OPTS', 'miimon=fast', false], ['BOND_OPTS', 'lacp_rate=medium', false], ['BOND_OPTS', 'frobnicate=1', false], ['BOND_OPTS', 'mode', false], ['BOND_OPTS', 'mode=1,mode=2', false],
    ['BOND_OPTS', 'arp_interval=200,arp_ip_target=10.0.0.1+10.0.0.2', true], ['BOND_OPTS', 'xmit_hash_policy=layer3+4', true],
    ['IFNAMES', 'boot0=52:54:00:00:00:01', true], ['IFNAMES', 'a=52:54:00:00:00:01 b=52:54:00:00:00:02', true], ['IFNAMES', 'a=52:54:00:00:00:01 a=52:54:00:00:00:02', false], ['IFNAMES', 'a:52:54:00:00:00:01', false],
  ];
  for (const [name, value, ok] of rows) {
    it(`${name}=${JSON.stringify(value)} is ${ok ? 'accepted' : 'refused'}`, () => expect(checkValue(name, value) === undefined).toBe(ok));
  }
  it('has the si.* aliases', () => {
    expect(['si.mtu', 'si.vlan-id', 'si.vlan-parent', 'si.vlan-name', 'si.bond', 'si.bond-slaves', 'si.bond-opts', 'si.ifnames'].map(canonicalName)).toEqual(['MTU', 'VLAN_ID', 'VLAN_PARENT', 'VLAN_NAME', 'BOND_NAME', 'BOND_SLAVES', 'BOND_OPTS', 'IFNAMES']);
  });
  it('turns bonding options into ip-link words (numbers to names)', () => {
    expect(parseBondOpts('mode=4,miimon=100,lacp_rate=1,arp_ip_target=10.0.0.1+10.0.0.2')).toEqual({
      opts: [['mode', '802.3ad'], ['miimon', '100'], ['lacp_rate', 'fast'], ['arp_ip_target', '10.0.0.1,10.0.0.2']],
    });
    expect(checkNetKind('bondopts', 'mode=fancy')).toMatch(/mode "fancy" is not one of balance-rr active-backup balance-xor broadcast 802.3ad balance-tlb balance-alb/);
  });
});

describe('readNetStack', () => {
  it('VLAN 42 on an LACP bond from local.cfg names, the bond named bond0 by default', () => {
    const r = readNetStack(cfg('BOND_SLAVES=eth0,eth1 BOND_OPTS=mode=802.3ad,miimon=100 VLAN_ID=42 MTU=9000'));
    expect(r.problems).toEqual([]);
    expect(r.stack).toEqual({
      renames: [], mtu: 9000, top: 'bond0.42',
      bond: { name: 'bond0', slaves: ['eth0', 'eth1'], opts: [['mode', '802.3ad'], ['miimon', '100']] },
      vlan: { name: 'bond0.42', parent: 'bond0', id: 42 },
    });
  });
  it('a VLAN on DEVICE, or DEVICE naming the VLAN', () => {
    expect(readNetStack(cfg('DEVICE=eth1 VLAN_ID=7')).stack?.vlan).toEqual({ name: 'eth1.7', parent: 'eth1', id: 7 });
    expect(readNetStack(cfg('DEVICE=eth1.0007 VLAN_ID=7')).stack?.vlan).toEqual({ name: 'eth1.0007', parent: 'eth1', id: 7 });
    expect(readNetStack(cfg('VLAN_PARENT=52:54:00:00:00:01 VLAN_ID=7')).stack?.vlan).toEqual({ name: 'vlan7', parent: '52:54:00:00:00:01', id: 7 });
  });
  it('MTU alone, renames alone, nothing at all', () => {
    expect(readNetStack(cfg('MTU=9000')).stack).toEqual({ renames: [], mtu: 9000 });
    expect(readNetStack(cfg('IFNAMES=lan0=52:54:00:00:00:01')).stack).toEqual({ renames: [{ name: 'lan0', mac: '52:54:00:00:00:01' }] });
    expect(readNetStack(cfg('DEVICE=eth0'))).toEqual({ problems: [] });
  });
  it('every contradiction names its source and key', () => {
    const problems = (t: string) => validateParams(cfg(t)).map(formatProblem);
    expect(problems('VLAN_ID=42')).toEqual(['local.cfg:/l:1 VLAN_ID: "42" needs a link to carry it: VLAN_PARENT, BOND_SLAVES or DEVICE']);
    expect(problems('BOND_OPTS=mode=1 BOND_NAME=bond1')).toEqual([
      'local.cfg:/l:2 BOND_NAME: "bond1" needs BOND_SLAVES (the NICs to bond)',
      'local.cfg:/l:1 BOND_OPTS: "mode=1" needs BOND_SLAVES (the NICs to bond)',
    ]);
    expect(problems('VLAN_PARENT=eth0 VLAN_NAME=v')).toEqual(['local.cfg:/l:1 VLAN_PARENT: "eth0" needs VLAN_ID', 'local.cfg:/l:2 VLAN_NAME: "v" needs VLAN_ID']);
    expect(problems('BOND_SLAVES=eth0,eth1 DEVICE=eth2')).toEqual(['local.cfg:/l:2 DEVICE: "eth2" is not the install interface the network parameters make (bond0)']);
    expect(problems('BOND_SLAVES=eth0,eth1 DEVICE=eth1')).toEqual(['local.cfg:/l:2 DEVICE: "eth1" is a slave of bond0: install over the bond (DEVICE=bond0) or leave DEVICE out']);
    expect(problems('VLAN_ID=4000 VLAN_PARENT=enp129s0f1np1')).toEqual(['local.cfg:/l:1 VLAN_ID: "4000" makes the VLAN name enp129s0f1np1.4000 longer than 15 characters: set VLAN_NAME']);
    expect(problems('VLAN_ID=5000 MTU=10 BOND_SLAVES=eth0,eth0')).toEqual([
      'local.cfg:/l:1 VLAN_ID: "5000" is not a VLAN id (1-4094)',
      'local.cfg:/l:2 MTU: "10" is not an MTU (68-9216)',
      'local.cfg:/l:3 BOND_SLAVES: "eth0 eth0" is not a list of NIC names or MAC addresses (comma-separated, each once)',
    ]);
  });
  it('DEVICE may name the bond or the VLAN parent', () => {
    expect(validateParams(cfg('BOND_SLAVES=eth0,eth1 VLAN_ID=42 DEVICE=bond0'))).toEqual([]);
    expect(validateParams(cfg('BOND_SLAVES=eth0,eth1 VLAN_ID=42 DEVICE=bond0.42'))).toEqual([]);
  });
});
