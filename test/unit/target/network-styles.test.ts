import { afterEach, describe, expect, it } from 'vitest';
import { applyFileChanges } from '../../../agent/target/file-changes.js';
import { resolveNetSettings } from '../../../agent/target/net-settings.js';
import { detectNetStyle, listNetStyles } from '../../../agent/target/net-style.js';
import { planNetworkChanges } from '../../../agent/target/plan-network.js';
import { memoryTargetView, readTargetView } from '../../../agent/target/target-view.js';
import { copyFixtureTree, paramsOf } from './fixture-tree.js';

const UUID = '9b1d3b8e-0000-4000-8000-000000000001';
const STATIC = paramsOf({ HOSTNAME: 'node7', DOMAINNAME: 'lab.example', IPADDR: '10.1.2.3', NETMASK: '255.255.255.0', GATEWAY: '10.1.2.1', DEVICE: 'eth0' });
const DHCP = paramsOf({ HOSTNAME: 'node7', IPADDR: '10.1.2.3', DEVICE: 'eth0' }, { IPADDR: 'dhcp' });
const RESOLV = 'nameserver 10.1.2.53\n';

let trees: Array<{ remove(): void }> = [];
afterEach(() => {
  trees.forEach((t) => t.remove());
  trees = [];
});

/** Copies a fixture, plans and applies the changes for nic, returns the tree. */
function configure(name: string, params = STATIC, nic = 'enp0s3') {
  const t = copyFixtureTree(name);
  trees.push(t);
  const plan = planNetworkChanges(readTargetView(t.root), nic, resolveNetSettings(params, RESOLV), UUID);
  applyFileChanges(t.root, plan.changes);
  return { ...t, plan };
}

describe('style detection', () => {
  it.each([
    ['debian-ifupdown', 'ifupdown'],
    ['netplan', 'netplan'], // also has a networkd file: netplan generates those, so it wins
    ['networkmanager', 'networkmanager'],
    ['networkd', 'networkd'],
    ['rhel-ifcfg', 'ifcfg'],
  ])('%s -> %s', (name, style) => {
    const t = copyFixtureTree(name);
    trees.push(t);
    expect(detectNetStyle(readTargetView(t.root))?.style).toBe(style);
  });

  it('lists every style present, in priority order', () => {
    const t = copyFixtureTree('netplan');
    trees.push(t);
    expect(listNetStyles(readTargetView(t.root)).map((s) => s.style)).toEqual(['netplan', 'networkd']);
  });

  it('falls back to installed software, and to nothing', () => {
    expect(detectNetStyle(memoryTargetView({ '/usr/sbin/NetworkManager': '', '/sbin/ifup': '' }))?.style).toBe('networkmanager');
    expect(detectNetStyle(memoryTargetView({ '/etc/network/interfaces': 'auto lo\niface lo inet loopback\n', '/sbin/ifup': '' }))?.style).toBe('ifupdown');
    expect(detectNetStyle(memoryTargetView({ '/etc/hostname': 'x' }))).toBeUndefined();
  });
});

describe('Debian ifupdown', () => {
  it('static: replaces the golden Ethernet stanzas, keeps lo, bridge, wireless and source lines', () => {
    const t = configure('debian-ifupdown');
    const text = t.read('etc/network/interfaces');
    expect(text).toContain('source /etc/network/interfaces.d/*');
    expect(text).toContain('iface lo inet loopback');
    expect(text).toMatch(/auto br0\niface br0 inet manual\n\tbridge_ports none/);
    expect(text).not.toMatch(/eth0|192\.168\.1\.10|hwaddress/);
    expect(text).toContain('auto enp0s3\niface enp0s3 inet static\n\taddress 10.1.2.3\n\tnetmask 255.255.255.0\n\tgateway 10.1.2.1\n\tdns-nameservers 10.1.2.53\n\tdns-search lab.example\n');
    expect(t.read('etc/network/interfaces.d/eth1')).not.toContain('eth1');
    expect(t.read('etc/network/interfaces.d/wlan')).toContain('iface wlan0 inet dhcp\n\twpa-conf');
    expect(t.read('etc/hostname')).toBe('node7\n');
    expect(t.read('etc/hosts')).toBe('127.0.0.1\tlocalhost\n127.0.1.1\tnode7.lab.example\tnode7\n\n# The following lines are desirable for IPv6 capable hosts\n::1     localhost ip6-localhost ip6-loopback\n');
    expect(t.read('etc/resolv.conf')).toBe('# written by si-agent (SystemImager)\nsearch lab.example\nnameserver 10.1.2.53\n');
  });

  it('dhcp: an allow-hotplug dhcp stanza, resolv.conf left to the DHCP client', () => {
    const t = configure('debian-ifupdown', DHCP);
    expect(t.read('etc/network/interfaces')).toContain('auto enp0s3\nallow-hotplug enp0s3\niface enp0s3 inet dhcp\n');
    expect(t.read('etc/resolv.conf')).toBe('nameserver 192.168.1.1\n');
    expect(t.read('etc/hosts')).toContain('127.0.1.1\tnode7\n');
  });

  it('replicant: nothing is touched', () => {
    const t = configure('debian-ifupdown', paramsOf({ HOSTNAME: 'node7', IP_ASSIGNMENT: 'replicant', DEVICE: 'eth0' }));
    expect(t.plan.changes).toEqual([]);
    expect(t.read('etc/hostname')).toBe('golden\n');
  });
});

describe('netplan', () => {
  it('moves the golden Ethernet YAML aside and writes its own with the same renderer, mode 0600', () => {
    const t = configure('netplan');
    expect(t.exists('etc/netplan/50-cloud-init.yaml')).toBe(false);
    expect(t.exists('etc/netplan/50-cloud-init.yaml.si-disabled')).toBe(true);
    const y = t.read('etc/netplan/50-systemimager.yaml');
    expect(y).toContain('  renderer: networkd\n  ethernets:\n    enp0s3:\n      dhcp4: false\n      addresses: [10.1.2.3/24]\n      routes:\n        - to: default\n          via: 10.1.2.1\n      nameservers:\n        addresses: [10.1.2.53]\n        search: [lab.example]\n');
  });

  it('dhcp', () => expect(configure('netplan', DHCP).read('etc/netplan/50-systemimager.yaml')).toMatch(/enp0s3:\n {6}dhcp4: true\n$/));
});

describe('NetworkManager keyfiles', () => {
  it('removes wired profiles, keeps Wi-Fi, writes a 0600 keyfile', () => {
    const t = configure('networkmanager', STATIC, 'eth0');
    const dir = 'etc/NetworkManager/system-connections';
    expect(t.exists(`${dir}/Wired connection 1.nmconnection`)).toBe(false);
    expect(t.exists(`${dir}/home-wifi.nmconnection`)).toBe(true);
    const k = t.read(`${dir}/eth0.nmconnection`);
    expect(k).toContain(`[connection]\nid=eth0\nuuid=${UUID}\ntype=ethernet\ninterface-name=eth0\n`);
    expect(k).toContain('[ipv4]\nmethod=manual\naddress1=10.1.2.3/24,10.1.2.1\ndns=10.1.2.53;\ndns-search=lab.example;\n');
  });
});

describe('systemd-networkd', () => {
  it('removes the en* match, keeps the bridge, leaves a resolved symlink alone', () => {
    const t = configure('networkd', STATIC, 'lan0');
    expect(t.exists('etc/systemd/network/20-wired.network')).toBe(false);
    expect(t.exists('etc/systemd/network/30-bridge.network')).toBe(true);
    expect(t.read('etc/systemd/network/50-systemimager-lan0.network')).toContain('[Match]\nName=lan0\n\n[Network]\nAddress=10.1.2.3/24\nGateway=10.1.2.1\nDNS=10.1.2.53\nDomains=lab.example\n');
    expect(t.isLink('etc/resolv.conf')).toBe(true);
  });
});

describe('RHEL ifcfg', () => {
  it('replaces ifcfg-eth0, keeps lo and the bond, sets HOSTNAME= in /etc/sysconfig/network', () => {
    const t = configure('rhel-ifcfg', DHCP);
    const dir = 'etc/sysconfig/network-scripts';
    expect(t.exists(`${dir}/ifcfg-eth0`)).toBe(false);
    expect(t.exists(`${dir}/ifcfg-lo`)).toBe(true);
    expect(t.exists(`${dir}/ifcfg-bond0`)).toBe(true);
    expect(t.read(`${dir}/ifcfg-enp0s3`)).toBe('# written by si-agent (SystemImager)\nDEVICE=enp0s3\nNAME=enp0s3\nTYPE=Ethernet\nONBOOT=yes\nBOOTPROTO=dhcp\n');
    expect(t.read('etc/sysconfig/network')).toBe('NETWORKING=yes\nHOSTNAME=node7\n');
  });

  it('static with DNS', () => {
    const t = configure('rhel-ifcfg');
    expect(t.read('etc/sysconfig/network-scripts/ifcfg-enp0s3')).toContain('BOOTPROTO=none\nIPADDR=10.1.2.3\nPREFIX=24\nGATEWAY=10.1.2.1\nDEFROUTE=yes\nDNS1=10.1.2.53\nDOMAIN=lab.example\n');
    expect(t.read('etc/sysconfig/network')).toContain('HOSTNAME=node7.lab.example\n');
  });
});
