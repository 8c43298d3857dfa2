// The configure step for real (root): chrooted stand-in SystemConfigurator on a busybox image, and native configuration of a fixture image.

import { chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunner } from '../../agent/exec/runner.js';
import { Reporter, type SiEvent } from '../../agent/report/events.js';
import { type Ctx, newFlowState } from '../../agent/steps/context.js';
import { configureStep } from '../../agent/steps/configure.js';
import type { DiskPlan } from '../../agent/plan/disk-plan-types.js';
import { mountsUnder } from './disk-helpers.js';

const isRoot = process.getuid?.() === 0;
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
const FIXTURES = join(__dirname, '../../fixtures/target');
const PLAN = { source: 't', allowed: null, disks: [], raids: [], vgs: [], filesystems: [], fstab: [], deviceMap: {}, mounts: [] } as DiskPlan;

/** A context over sysroot with the given parameters (all from the command line). */
function makeCtx(sysroot: string, values: Record<string, string>, events: SiEvent[]): Ctx {
  const report = new Reporter();
  report.addSink((e) => events.push(e));
  const state = newFlowState();
  state.diskPlan = PLAN;
  return {
    opts: { mode: 'install', cmdlineText: '', localCfgFiles: [], disks: [], sysroot, workdir: sysroot, network: false, performPostAction: false, rsyncPort: 873 },
    run: createRunner(report), report, signal: new AbortController().signal, state,
    params: new Map(Object.entries(values).map(([k, v]) => [k, { value: v, source: 'cmdline' }])),
  };
}

/** A virtio NIC in the fake /sys at PCI 0000:00:<slot>.0 with the MAC 52:54:00:00:00:<slot>. */
function addNic(dir: string, name: string, slot: string): void {
  const pci = join(dir, `sys/devices/pci0000:00/0000:00:${slot}.0`);
  mkdirSync(join(pci, `virtio${slot}/net/${name}`), { recursive: true });
  mkdirSync(join(dir, 'sys/class/net'), { recursive: true });
  symlinkSync(`../../devices/pci0000:00/0000:00:${slot}.0/virtio${slot}/net/${name}`, join(dir, 'sys/class/net', name));
  symlinkSync(`../../../virtio${slot}`, join(pci, `virtio${slot}/net/${name}/device`));
  writeFileSync(join(pci, `virtio${slot}/net/${name}/address`), `52:54:00:00:00:${slot}\n`);
}

/** A fake install environment for SI_ROOT: eth0 a virtio NIC at PCI 0000:00:05.0, eth1 at 0000:00:06.0, a resolv.conf, no EFI. */
function makeInstallEnv(dir: string): void {
  addNic(dir, 'eth0', '05');
  addNic(dir, 'eth1', '06');
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc/resolv.conf'), 'nameserver 10.9.8.7\n');
}

describe.skipIf(!isRoot || !BUSYBOX)('configure step (root)', () => {
  let dir: string;
  let sysroot: string;
  const savedRoot = process.env.SI_ROOT;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'si-target-cfg-'));
    sysroot = join(dir, 'sysroot');
    makeInstallEnv(join(dir, 'env'));
    process.env.SI_ROOT = join(dir, 'env');
  });
  afterEach(async () => {
    if (savedRoot === undefined) delete process.env.SI_ROOT;
    else process.env.SI_ROOT = savedRoot;
    const run = createRunner(null);
    for (const m of mountsUnder(dir).reverse()) await run('umount', ['-l', m.mp], { allowFail: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the image\'s systemconfigurator chrooted, with the config on stdin and /dev /proc /sys bound, then nothing natively', async () => {
    mkdirSync(join(sysroot, 'bin'), { recursive: true });
    mkdirSync(join(sysroot, 'usr/bin'), { recursive: true });
    mkdirSync(join(sysroot, 'etc'), { recursive: true });
    copyFileSync(BUSYBOX!, join(sysroot, 'bin/busybox'));
    for (const t of ['sh', 'cat', 'echo', 'ls']) symlinkSync('busybox', join(sysroot, 'bin', t));
    // Stand-in: no SystemConfigurator package exists to install, so it records what it was given.
    writeFileSync(join(sysroot, 'usr/bin/systemconfigurator'), '#!/bin/sh\necho "$@" > /sc-args\ncat > /sc-stdin\n[ -r /proc/self/status ] && echo proc > /sc-mounts\n[ -d /sys/class ] && echo sys >> /sc-mounts\n[ -c /dev/null ] && echo dev >> /sc-mounts\nexit 0\n');
    chmodSync(join(sysroot, 'usr/bin/systemconfigurator'), 0o755);
    writeFileSync(join(sysroot, 'etc/machine-id'), 'golden-id\n');
    writeFileSync(join(sysroot, 'etc/hostname'), 'golden\n');
    const events: SiEvent[] = [];
    await configureStep.run(makeCtx(sysroot, { HOSTNAME: 'node3', DOMAINNAME: 'lab.example', IPADDR: '10.0.0.3', NETMASK: '255.255.255.0', GATEWAY: '10.0.0.1', DEVICE: 'eth0' }, events));
    expect(readFileSync(join(sysroot, 'sc-args'), 'utf8')).toBe('--confighw --confignet --configboot --runboot --stdin\n');
    // The image has no udev naming rule: the kernel name stays.
    expect(readFileSync(join(sysroot, 'sc-stdin'), 'utf8')).toBe('[NETWORK]\nHOSTNAME = node3\nDOMAINNAME = lab.example\nGATEWAY = 10.0.0.1\n\n[INTERFACE0]\nDEVICE = eth0\nTYPE = static\nIPADDR = 10.0.0.3\nNETMASK = 255.255.255.0\n');
    expect(readFileSync(join(sysroot, 'sc-mounts'), 'utf8')).toBe('proc\nsys\ndev\n');
    expect(readFileSync(join(sysroot, 'etc/hostname'), 'utf8')).toBe('golden\n'); // not configured natively
    expect(readFileSync(join(sysroot, 'etc/machine-id'), 'utf8')).toBe('');
    expect(mountsUnder(sysroot)).toEqual([]);
    for (const d of ['dev', 'proc', 'sys']) expect(existsSync(join(sysroot, d))).toBe(false);
  });

  it('configures a Debian ifupdown image natively: predictable NIC name, static address, identity reset, BOOTLOADER=none', async () => {
    cpSync(join(FIXTURES, 'debian-ifupdown'), sysroot, { recursive: true, verbatimSymlinks: true });
    const events: SiEvent[] = [];
    await configureStep.run(makeCtx(sysroot, { HOSTNAME: 'node4', IPADDR: '10.0.0.4', NETMASK: '255.255.255.0', GATEWAY: '10.0.0.1', DEVICE: 'eth0', BOOTLOADER: 'none' }, events));
    const ifaces = readFileSync(join(sysroot, 'etc/network/interfaces'), 'utf8');
    expect(ifaces).toContain('auto enp0s5\niface enp0s5 inet static\n\taddress 10.0.0.4\n\tnetmask 255.255.255.0\n\tgateway 10.0.0.1\n\tdns-nameservers 10.9.8.7\n');
    expect(readFileSync(join(sysroot, 'etc/hostname'), 'utf8')).toBe('node4\n');
    expect(readFileSync(join(sysroot, 'etc/resolv.conf'), 'utf8')).toContain('nameserver 10.9.8.7\n');
    expect(readFileSync(join(sysroot, 'etc/machine-id'), 'utf8')).toBe('');
    expect(lstatSync(join(sysroot, 'var/lib/dbus/machine-id')).isSymbolicLink()).toBe(true);
    expect(existsSync(join(sysroot, 'etc/ssh/ssh_host_ed25519_key'))).toBe(false); // no ssh-keygen in this image
    const messages = events.flatMap((e) => (e.type === 'log' ? [e.message] : []));
    expect(messages).toContain('install NIC eth0 is enp0s5 in the installed system (PCI path)');
    expect(messages.some((m) => m.startsWith('network configuration style: ifupdown'))).toBe(true);
    expect(messages).toContain('BOOTLOADER=none: boot loader left as in the image');
    expect(mountsUnder(sysroot)).toEqual([]);
  });

  it('writes a bond (slaves by MAC, as the installed system names them), VLAN 42 on it, MTU 9000 and IPv6 into a Debian ifupdown image', async () => {
    cpSync(join(FIXTURES, 'debian-ifupdown'), sysroot, { recursive: true, verbatimSymlinks: true });
    const events: SiEvent[] = [];
    const params = {
      HOSTNAME: 'node6', BOND_SLAVES: '52:54:00:00:00:05,52:54:00:00:00:06', BOND_OPTS: 'mode=802.3ad,miimon=100,lacp_rate=fast', VLAN_ID: '42', MTU: '9000',
      IPADDR: '10.42.0.6', NETMASK: '255.255.255.0', GATEWAY: '10.42.0.1', IPV6_ASSIGNMENT: 'static', IPV6ADDR: 'fd42:77::6/64', IPV6_GATEWAY: 'fd42:77::1', BOOTLOADER: 'none',
    };
    await configureStep.run(makeCtx(sysroot, params, events));
    const ifaces = readFileSync(join(sysroot, 'etc/network/interfaces'), 'utf8');
    expect(ifaces).not.toMatch(/eth0|eth1|192\.168\.1\.10/);
    expect(ifaces).toContain('iface br0 inet manual'); // the image's bridge stays
    expect(ifaces).toContain(
      '# The install links (written by si-agent)\n' +
        'auto bond0\niface bond0 inet manual\n\tbond-slaves enp0s5 enp0s6\n\tbond-mode 802.3ad\n\tbond-miimon 100\n\tbond-lacp-rate fast\n\tmtu 9000\n\n' +
        'auto bond0.42\niface bond0.42 inet manual\n\tvlan-raw-device bond0\n\tmtu 9000\n' +
        'iface bond0.42 inet static\n\taddress 10.42.0.6\n\tnetmask 255.255.255.0\n\tgateway 10.42.0.1\n\tdns-nameservers 10.9.8.7\n' +
        'iface bond0.42 inet6 static\n\taddress fd42:77::6/64\n\tgateway fd42:77::1\n',
    );
    expect(readFileSync(join(sysroot, 'etc/network/interfaces.d/eth1'), 'utf8')).not.toContain('eth1');
    expect(readFileSync(join(sysroot, 'etc/resolv.conf'), 'utf8')).toBe('# written by si-agent (SystemImager)\nnameserver 10.9.8.7\n');
    const messages = events.flatMap((e) => (e.type === 'log' ? [e.message] : []));
    expect(messages).toContain('install NIC eth0 is enp0s5 in the installed system (PCI path)');
    expect(messages).toContain('install NIC eth1 is enp0s6 in the installed system (PCI path)');
    expect(messages.some((m) => m.startsWith('network configuration style: ifupdown'))).toBe(true);
  });

  it('fails with a clear error when the image has no kernel, leaving the image untouched and nothing bound', async () => {
    cpSync(join(FIXTURES, 'debian-ifupdown'), sysroot, { recursive: true, verbatimSymlinks: true });
    const events: SiEvent[] = [];
    await expect(configureStep.run(makeCtx(sysroot, { HOSTNAME: 'node5', DEVICE: 'eth0' }, events))).rejects.toMatchObject({ code: 'E_TARGET', message: expect.stringMatching(/no kernel \(no \/boot\/vmlinuz-\*\)/) });
    expect(readFileSync(join(sysroot, 'etc/hostname'), 'utf8')).toBe('golden\n');
    expect(mountsUnder(sysroot)).toEqual([]);
  });
});
