import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNicFacts, type NicFacts } from '../../../agent/target/nic-facts.js';
import { predictNicName, readNamingPolicy } from '../../../agent/target/nic-name.js';
import { memoryTargetView } from '../../../agent/target/target-view.js';

const P = { kind: 'predictable' } as const;
const pci = (bus: number, slot: number, func = 0, domain = 0) => ({ domain, bus, slot, func });

describe('predictNicName (systemd default policy)', () => {
  it.each<[string, NicFacts, string]>([
    ['virtio at 0000:00:03.0', { kernelName: 'eth0', pci: pci(0, 3) }, 'enp0s3'],
    ['behind a bridge', { kernelName: 'eth0', pci: pci(2, 0) }, 'enp2s0'],
    ['second function', { kernelName: 'eth1', pci: pci(1, 0, 1), multiFunction: true }, 'enp1s0f1'],
    ['function 0 of a multi-function card', { kernelName: 'eth0', pci: pci(1, 0, 0), multiFunction: true }, 'enp1s0f0'],
    ['PCI domain', { kernelName: 'eth0', pci: pci(0x1a, 2, 0, 1) }, 'enP1p26s2'],
    ['dev_port', { kernelName: 'eth1', pci: pci(4, 0), devPort: 1 }, 'enp4s0d1'],
    ['hotplug slot (QEMU i440fx)', { kernelName: 'eth0', pci: pci(0, 3), hotplugSlot: 3 }, 'ens3'],
    ['onboard ACPI index wins over slot', { kernelName: 'eth0', pci: pci(0, 25), acpiIndex: 1, hotplugSlot: 7 }, 'eno1'],
    ['onboard SMBIOS index', { kernelName: 'eth0', pci: pci(0, 25), smbiosIndex: 2 }, 'eno2'],
    ['USB is not covered', { kernelName: 'eth0', pci: pci(0, 20), usb: true }, 'eth0'],
    ['already renamed', { kernelName: 'enp0s31f6', pci: pci(0, 31, 6) }, 'enp0s31f6'],
    ['no PCI', { kernelName: 'eth0' }, 'eth0'],
  ])('%s', (_, facts, want) => expect(predictNicName(facts, P).name).toBe(want));

  it('keeps the kernel name under net.ifnames=0 and uses a .link file matching the MAC', () => {
    const f: NicFacts = { kernelName: 'eth0', mac: '52:54:00:12:34:56', pci: pci(0, 3) };
    const udev = { '/usr/lib/udev/rules.d/80-net-setup-link.rules': '' };
    expect(predictNicName(f, readNamingPolicy(memoryTargetView({ ...udev, '/etc/default/grub': 'GRUB_CMDLINE_LINUX="quiet net.ifnames=0"\n' }))).name).toBe('eth0');
    expect(predictNicName(f, readNamingPolicy(memoryTargetView({ ...udev, '/etc/udev/rules.d/80-net-setup-link.rules': '-> /dev/null' }))).name).toBe('eth0');
    expect(predictNicName(f, readNamingPolicy(memoryTargetView({})))).toMatchObject({ name: 'eth0', why: /no udev/ });
    const link = { ...udev, '/etc/systemd/network/10-lan.link': '[Match]\nMACAddress=52:54:00:12:34:56\n\n[Link]\nName=lan0\n' };
    expect(predictNicName(f, readNamingPolicy(memoryTargetView(link), f.mac)).name).toBe('lan0');
    expect(predictNicName(f, readNamingPolicy(memoryTargetView(udev), f.mac)).name).toBe('enp0s3');
  });
});

describe('readNicFacts over a sysfs fixture', () => {
  const sys = mkdtempSync(join(tmpdir(), 'si-sysfs-'));
  afterAll(() => rmSync(sys, { recursive: true, force: true }));
  const pciDir = join(sys, 'devices/pci0000:00/0000:00:03.0');
  mkdirSync(join(pciDir, 'virtio0/net/eth0'), { recursive: true });
  mkdirSync(join(sys, 'class/net'), { recursive: true });
  symlinkSync('../../devices/pci0000:00/0000:00:03.0/virtio0/net/eth0', join(sys, 'class/net/eth0'));
  symlinkSync('../../../virtio0', join(pciDir, 'virtio0/net/eth0/device'));
  writeFileSync(join(pciDir, 'virtio0/net/eth0/address'), '52:54:00:AB:CD:EF\n');
  writeFileSync(join(pciDir, 'virtio0/net/eth0/dev_port'), '0\n');

  it('finds the PCI function above a virtio NIC', () => {
    const f = readNicFacts(sys, 'eth0');
    expect(f).toMatchObject({ kernelName: 'eth0', mac: '52:54:00:ab:cd:ef', pci: pci(0, 3), multiFunction: false, devPort: 0 });
    expect(predictNicName(f, P).name).toBe('enp0s3');
  });

  it('sees a hotplug slot and the ACPI index', () => {
    mkdirSync(join(sys, 'bus/pci/slots/3'), { recursive: true });
    writeFileSync(join(sys, 'bus/pci/slots/3/address'), '0000:00:03\n');
    expect(predictNicName(readNicFacts(sys, 'eth0'), P).name).toBe('ens3');
    writeFileSync(join(pciDir, 'acpi_index'), '1\n');
    expect(predictNicName(readNicFacts(sys, 'eth0'), P).name).toBe('eno1');
  });

  it('returns the bare kernel name for an unknown link', () => expect(readNicFacts(sys, 'eth9')).toEqual({ kernelName: 'eth9' }));
});
