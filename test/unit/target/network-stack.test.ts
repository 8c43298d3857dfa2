// Bonds, VLANs, MTU and IPv6 in the installed system's network configuration: golden files per style, names, notes.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Runner } from '../../../agent/exec/runner.js';
import type { DiskPlan } from '../../../agent/plan/disk-plan-types.js';
import { Reporter } from '../../../agent/report/events.js';
import { configureTarget } from '../../../agent/target/configure-target.js';
import { ParamError } from '../../../agent/errors.js';
import { resolveParamsFromSources } from '../../../agent/params/resolve.js';
import { sysLinkNamer, tableNamer } from '../../../agent/target/link-namer.js';
import { readLinkTable } from '../../../agent/net/link-stack.js';
import { resolveNetSettings } from '../../../agent/target/net-settings.js';
import type { NetStyle } from '../../../agent/target/net-style.js';
import { planNetworkChanges } from '../../../agent/target/plan-network.js';
import { memoryTargetView } from '../../../agent/target/target-view.js';
import { BOND, CASES, IFNAMES, IFNAMES_CASES, IMAGES, NAMER, STATIC4, UUID, plan, show } from './stack-cases.js';
import { paramsOf } from './fixture-tree.js';

const STYLES = Object.keys(IMAGES) as NetStyle[];

const GOLDEN = join(__dirname, '../../../fixtures/target/stack-golden');

describe('golden configuration per style', () => {
  for (const [name, values] of Object.entries({ ...CASES, ...IFNAMES_CASES })) {
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

describe('IFNAMES in the installed system', () => {
  const v = IFNAMES_CASES['ifnames-bond-vlan42-static']!;

  it('wins over the name udev would give: slaves by name or MAC, primary, the install NIC', () => {
    // A namer that predicts enp* names for lan0/lan1 (and knows their MACs): IFNAMES still decides.
    const namer = tableNamer({ lan0: 'enp1s0', lan1: 'enp2s0', eth0: 'enp1s0' }, { '52:54:00:aa:bb:01': 'lan0', '52:54:00:aa:bb:02': 'lan1' });
    const s = resolveNetSettings(paramsOf({ ...IFNAMES, BOND_SLAVES: '52:54:00:aa:bb:01,lan1', BOND_OPTS: 'mode=active-backup,primary=lan0' }), '', namer);
    expect(s.bond?.slaves).toEqual(['lan0', 'lan1']);
    expect(s.bond?.options).toEqual([['primary', 'lan0']]);
    expect(s.renamed).toEqual([
      { from: 'lan0', to: 'lan0', why: 'IFNAMES lan0=52:54:00:aa:bb:01' },
      { from: 'lan1', to: 'lan1', why: 'IFNAMES lan1=52:54:00:aa:bb:02' },
    ]);
    expect(s.ifnames).toEqual([{ name: 'lan0', mac: '52:54:00:aa:bb:01' }, { name: 'lan1', mac: '52:54:00:aa:bb:02' }]);
    // IFNAMES naming a NIC eth0: eth0 stays eth0, where udev would have made it enp1s0.
    expect(resolveNetSettings(paramsOf({ IFNAMES: 'eth0=52:54:00:00:00:01', DEVICE: 'eth0' }), '', NAMER).nic).toBe('eth0');
    expect(resolveNetSettings(paramsOf({ DEVICE: 'eth0' }), '', NAMER).nic).toBe('enp1s0');
  });

  it.each(STYLES)('%s: every file names lan0/lan1, a .link file per name sorts before 99-default.link', (style) => {
    const p = plan(v, style);
    const text = show(p.changes.filter((c) => c.kind === 'write'));
    expect(text).not.toMatch(/enp\d|eth\d/);
    expect(text).toMatch(/lan0/);
    const links = p.changes.filter((c) => c.path.endsWith('.link'));
    expect(links.map((c) => c.path)).toEqual(['/etc/systemd/network/10-systemimager-lan0.link', '/etc/systemd/network/10-systemimager-lan1.link']);
    for (const c of links) expect(c.path.split('/').pop()! < '99-default.link').toBe(true);
    expect(links[0]).toMatchObject({ kind: 'write', content: expect.stringMatching(/^\[Match\]\nMACAddress=52:54:00:aa:bb:01\nPermanentMACAddress=52:54:00:aa:bb:01\n\n\[Link\]\nName=lan0\n$/m) });
  });

  it('ifcfg binds the IFNAMES NICs by HWADDR= too, and only them', () => {
    const text = show(plan(v, 'ifcfg').changes);
    expect(text).toContain('DEVICE=lan0\nNAME=lan0\nHWADDR=52:54:00:AA:BB:01\n');
    expect(text).toContain('DEVICE=lan1\nNAME=lan1\nHWADDR=52:54:00:AA:BB:02\n');
    expect(text.match(/HWADDR=/g)).toHaveLength(2);
    expect(show(plan(CASES['bond-lacp-dhcp']!, 'ifcfg').changes)).not.toContain('HWADDR=');
  });

  it('no .link file without systemd udev (or with its rule masked): a note instead', () => {
    const noUdev = plan(v, 'networkd', { '/usr/lib/udev/rules.d/80-net-setup-link.rules': undefined });
    expect(noUdev.changes.some((c) => c.path.endsWith('.link'))).toBe(false);
    expect(noUdev.notes).toContain('the image has no udev net_setup_link rule (no systemd udev): no systemd .link file can name the NICs as IFNAMES did (lan0=52:54:00:aa:bb:01 lan1=52:54:00:aa:bb:02); the NICs get the names the image\'s own rules give them, and its network configuration (written for lan0, lan1) does not apply');
    const masked = plan(v, 'ifcfg', { '/etc/udev/rules.d/80-net-setup-link.rules': '-> /dev/null' });
    expect(masked.changes.some((c) => c.path.endsWith('.link'))).toBe(false);
    expect(masked.notes.join('\n')).toMatch(/80-net-setup-link.rules is masked: .*HWADDR= names them only where/);
    // Without IFNAMES nothing is said about .link files.
    expect(plan(CASES['bond-lacp-dhcp']!, 'networkd', { '/usr/lib/udev/rules.d/80-net-setup-link.rules': undefined }).notes.join('\n')).not.toMatch(/\.link/);
  });

  it('an image .link file for one of the MACs goes (it would name the NIC otherwise); others stay', () => {
    const p = plan(v, 'networkd', {
      '/etc/systemd/network/05-old.link': '[Match]\nMACAddress=52:54:00:AA:BB:02\n\n[Link]\nName=old1\n',
      '/etc/systemd/network/70-other.link': '[Match]\nMACAddress=52:54:00:ff:ff:ff\n\n[Link]\nName=mgmt0\n',
    });
    expect(p.changes).toContainEqual({ kind: 'remove', path: '/etc/systemd/network/05-old.link' });
    expect(p.changes.some((c) => c.path === '/etc/systemd/network/70-other.link')).toBe(false);
  });

  it('a name in the eth<N> namespace is written, with a warning', () => {
    const p = plan({ IFNAMES: 'eth1=52:54:00:aa:bb:01 lan1=52:54:00:aa:bb:02', DEVICE: 'eth1' }, 'networkd');
    expect(p.changes.map((c) => c.path)).toContain('/etc/systemd/network/10-systemimager-eth1.link');
    expect(p.changes.map((c) => c.path)).toContain('/etc/systemd/network/50-systemimager-eth1.network');
    expect(p.notes.filter((n) => /eth<N>/.test(n))).toEqual([expect.stringMatching(/^IFNAMES names 52:54:00:aa:bb:01 eth1, in the kernel's own eth<N> namespace: .*written as asked$/)]);
  });
});

describe('IPV6_ASSIGNMENT=off in the installed system', () => {
  const off = CASES['ipv6-off-static4']!;
  const unset = { DEVICE: 'eth0', ...STATIC4 };
  const expected: Record<NetStyle, RegExp> = {
    networkmanager: /\[ipv6\]\nmethod=disabled\n/,
    networkd: /\nIPv6AcceptRA=no\nLinkLocalAddressing=no\n/,
    netplan: /\n {6}accept-ra: false\n {6}link-local: \[\]\n/,
    ifcfg: /\nIPV6INIT=no\nIPV6_DISABLED=yes\n/,
    ifupdown: /^(?![\s\S]*inet6)/,
  };

  it.each(STYLES)('%s: autoconfiguration off when given, the tool\'s default when unset', (style) => {
    expect(show(plan(off, style).changes)).toMatch(expected[style]);
    if (style !== 'ifupdown') expect(show(plan(unset, style).changes)).not.toMatch(expected[style]);
    expect(show(plan(unset, style).changes)).not.toMatch(/method=disabled|LinkLocalAddressing|link-local|IPV6INIT|inet6/);
  });

  it('ifupdown says the kernel default stays; NetworkManager says which IPv6 servers it cannot carry', () => {
    expect(plan(off, 'ifupdown').notes).toContain('ifupdown has no setting that turns IPv6 autoconfiguration off: no inet6 stanza is written for enp1s0, which keeps the kernel\'s default (router advertisements accepted, a link-local address)');
    expect(plan(unset, 'ifupdown').notes.join('\n')).not.toMatch(/IPv6/);
    expect(plan(off, 'networkmanager').notes).toContain('NetworkManager keeps IPv6 name servers in [ipv6], which IPV6_ASSIGNMENT=off disables: fd42:77::53 left out of the keyfile');
  });

  it('only the top link is changed: the bond and its slaves as before', () => {
    const p = show(plan(CASES['ipv6-off-dhcp-on-vlan-bond']!, 'networkd').changes);
    expect(p.match(/IPv6AcceptRA=no/g)).toHaveLength(1);
    expect(p).toContain('[Match]\nName=bond0.42\n\n[Network]\nDHCP=ipv4\nIPv6AcceptRA=no\nLinkLocalAddressing=no\n');
  });
});

describe('IPv6 name servers reach the installed system', () => {
  // As the installer wrote resolv.conf for `ip=10.42.0.7::10.42.0.1:24::eth0:none nameserver=[fd00::53]`.
  const params = resolveParamsFromSources({ cmdlineText: 'ip=10.42.0.7::10.42.0.1:24::eth0:none nameserver=[fd00::53] IPV6_ASSIGNMENT=auto', localCfgs: [] }).params;
  const resolv = '# written by si-agent\nnameserver fd00::53\n';
  const want: Record<NetStyle, string> = {
    ifupdown: '\tdns-nameservers fd00::53\n',
    networkmanager: '[ipv6]\nmethod=auto\ndns=fd00::53;\n',
    networkd: '\nDNS=fd00::53\n',
    netplan: '        addresses: ["fd00::53"]\n',
    ifcfg: '\nDNS1=fd00::53\n',
  };

  it.each(STYLES)('%s: in its DNS settings and in resolv.conf', (style) => {
    const s = resolveNetSettings(params, resolv, NAMER);
    expect(s.dns).toEqual(['fd00::53']);
    const p = planNetworkChanges(memoryTargetView(IMAGES[style]), s.nic, s, UUID);
    const text = show(p.changes);
    expect(text).toContain(want[style]);
    expect(text).toContain('== write /etc/resolv.conf\n# written by si-agent (SystemImager)\nnameserver fd00::53\n');
  });
});

describe('ifupdown bond without ifenslave', () => {
  it('warns once, naming the missing hook and the package', () => {
    const p = plan(CASES['vlan42-on-bond-static']!, 'ifupdown', { '/etc/network/if-pre-up.d/ifenslave': undefined });
    const about = p.notes.filter((n) => n.includes('ifenslave'));
    expect(about).toEqual(['the image has no /etc/network/if-pre-up.d/ifenslave: bond0 (bond-slaves enp1s0 enp2s0) will not come up at boot; install ifenslave in the image (apt install ifenslave)']);
  });

  it('says nothing when the image has it, or when there is no bond', () => {
    expect(plan(CASES['vlan42-on-bond-static']!, 'ifupdown').notes.join('\n')).not.toMatch(/ifenslave/);
    expect(plan(CASES['mtu9000-dhcp']!, 'ifupdown', { '/etc/network/if-pre-up.d/ifenslave': undefined }).notes.join('\n')).not.toMatch(/ifenslave/);
  });

  it('is one warning of the configure step', async () => {
    const root = mkdtempSync(join(tmpdir(), 'si-ifenslave-'));
    try {
      mkdirSync(join(root, 'etc/network'), { recursive: true });
      writeFileSync(join(root, 'etc/network/interfaces'), 'auto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n');
      const report = new Reporter();
      const warnings: string[] = [];
      report.addSink((e) => void (e.type === 'log' && e.level === 'warn' && warnings.push(e.message)));
      const run: Runner = async (tool, args) => ({ argv: [tool, ...args], code: 0, signal: null, stdout: '', stderr: '', ms: 1 });
      const settings = resolveNetSettings(paramsOf(BOND), '', NAMER);
      await configureTarget({ run, report, sysroot: root }, { settings, plan: {} as DiskPlan, boot: null });
      expect(warnings.filter((w) => w.includes('ifenslave'))).toEqual(['the image has no /etc/network/if-pre-up.d/ifenslave: bond0 (bond-slaves enp1s0 enp2s0) will not come up at boot; install ifenslave in the image (apt install ifenslave)']);
      expect(readFileSync(join(root, 'etc/network/interfaces'), 'utf8')).toContain('bond-slaves enp1s0 enp2s0');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('the installer\'s links once bonded (sysfs as the kernel shows it)', () => {
  // lan0 and lan1 enslaved to bond0 (active-backup): both carry lan0's MAC, their own is bonding_slave/perm_hwaddr;
  // bond0 and bond0.42 carry it too. Names in readdir order put the bond first.
  const mac0 = '52:54:00:aa:bb:01';
  const mac1 = '52:54:00:aa:bb:02';
  const sysRoot = (): string => {
    const root = mkdtempSync(join(tmpdir(), 'si-bonded-sys-'));
    const link = (name: string, address: string, extra: Record<string, string> = {}) => {
      mkdirSync(join(root, 'class/net', name, 'bonding_slave'), { recursive: true });
      writeFileSync(join(root, 'class/net', name, 'address'), `${address}\n`);
      for (const [f, text] of Object.entries(extra)) writeFileSync(join(root, 'class/net', name, f), text);
    };
    link('bond0', mac0, { uevent: 'DEVTYPE=bond\nINTERFACE=bond0\n' });
    link('bond0.42', mac0, { uevent: 'DEVTYPE=vlan\nINTERFACE=bond0.42\n' });
    link('lan0', mac0, { 'bonding_slave/perm_hwaddr': `${mac0}\n` });
    link('lan1', mac0, { 'bonding_slave/perm_hwaddr': `${mac1}\n` });
    return root;
  };

  it('a slave is known by its own MAC, and a MAC finds the NIC before the bond or VLAN that shares it', () => {
    const root = sysRoot();
    try {
      expect([...readLinkTable(join(root, 'class/net'))]).toEqual([['lan0', mac0], ['lan1', mac1], ['bond0', mac0], ['bond0.42', mac0]]);
      const namer = sysLinkNamer(root, memoryTargetView({}));
      expect(namer(mac1)).toMatchObject({ kernel: 'lan1', mac: mac1 });
      expect(namer(mac0)).toMatchObject({ kernel: 'lan0', mac: mac0 });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('IFNAMES with bonded slaves: each slave keeps its own name in the installed system, by name or by MAC', () => {
    const root = sysRoot();
    try {
      const namer = sysLinkNamer(root, memoryTargetView({}));
      const ifnames = `lan0=${mac0} lan1=${mac1}`;
      expect(resolveNetSettings(paramsOf({ IFNAMES: ifnames, BOND_SLAVES: 'lan0,lan1', BOND_OPTS: 'mode=active-backup' }), '', namer).bond?.slaves).toEqual(['lan0', 'lan1']);
      expect(resolveNetSettings(paramsOf({ IFNAMES: ifnames, BOND_SLAVES: `${mac1},${mac0}`, BOND_OPTS: 'mode=active-backup' }), '', namer).bond?.slaves).toEqual(['lan1', 'lan0']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
