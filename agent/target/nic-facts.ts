// Reads what the kernel says about one NIC in the install environment's /sys (the inputs of udev's net_id).

import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

/** A PCI address domain:bus:slot.function, as numbers. */
export interface PciAddress {
  domain: number;
  bus: number;
  slot: number;
  func: number;
}

/** Facts about one NIC, all optional but its kernel name. */
export interface NicFacts {
  kernelName: string;
  mac?: string;
  /** The PCI function the NIC sits on (for virtio: the virtio device's parent). */
  pci?: PciAddress;
  /** ACPI _DSM index (onboard), from the PCI device's acpi_index. */
  acpiIndex?: number;
  /** SMBIOS type 41 index (onboard), from the PCI device's index. */
  smbiosIndex?: number;
  /** Hotplug slot number from /sys/bus/pci/slots/<n>/address. */
  hotplugSlot?: number;
  /** True when the PCI device is one function of a multi-function device. */
  multiFunction?: boolean;
  devPort?: number;
  /** True when the device hangs off USB (we keep the kernel name then). */
  usb?: boolean;
}

/** Parses "0000:00:03.0" into numbers, or undefined. */
export function parsePciAddress(text: string): PciAddress | undefined {
  const m = /^([0-9a-f]{4,8}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i.exec(text.trim());
  if (!m) return undefined;
  return { domain: parseInt(m[1]!, 16), bus: parseInt(m[2]!, 16), slot: parseInt(m[3]!, 16), func: parseInt(m[4]!, 16) };
}

/** The last PCI address in a resolved sysfs device path (a virtio NIC sits below its PCI function). */
export function pciFromDevicePath(path: string): string | undefined {
  const parts = path.split('/').filter((p) => parsePciAddress(p) !== undefined);
  return parts.at(-1);
}

const readText = (p: string) => {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
};
const readNum = (p: string) => {
  const t = readText(p);
  if (t === undefined || !/^(0x[0-9a-f]+|\d+)$/i.test(t)) return undefined;
  return Number(t);
};

/** Collects a NIC's facts from sysfs (sysRoot is /sys, or a fixture tree). */
export function readNicFacts(sysRoot: string, name: string): NicFacts {
  const facts: NicFacts = { kernelName: name };
  const netDir = join(sysRoot, 'class/net', name);
  // A bond slave carries the bond's MAC (active-backup gives every slave the same one): its own is perm_hwaddr.
  const mac = readText(join(netDir, 'bonding_slave', 'perm_hwaddr')) ?? readText(join(netDir, 'address'));
  if (mac && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) facts.mac = mac.toLowerCase();
  const devPort = readNum(join(netDir, 'dev_port'));
  if (devPort !== undefined) facts.devPort = devPort;
  let devPath: string;
  try {
    devPath = realpathSync(join(netDir, 'device'));
  } catch {
    return facts;
  }
  if (devPath.includes('/usb')) facts.usb = true;
  const pciText = pciFromDevicePath(devPath);
  const pci = pciText ? parsePciAddress(pciText) : undefined;
  if (!pci || !pciText) return facts;
  facts.pci = pci;
  const pciDir = devPath.slice(0, devPath.indexOf(pciText) + pciText.length);
  const acpi = readNum(join(pciDir, 'acpi_index'));
  if (acpi !== undefined) facts.acpiIndex = acpi;
  const idx = readNum(join(pciDir, 'index'));
  if (idx !== undefined) facts.smbiosIndex = idx;
  facts.multiFunction = siblingFunctions(pciDir, pciText);
  const slots = join(sysRoot, 'bus/pci/slots');
  if (existsSync(slots)) {
    const want = pciText.slice(0, pciText.lastIndexOf('.'));
    for (const s of readdirSync(slots)) {
      if (readText(join(slots, s, 'address')) === want && /^\d+$/.test(s)) facts.hotplugSlot = Number(s);
    }
  }
  return facts;
}

/** True when another function of the same PCI slot exists next to this one. */
function siblingFunctions(pciDir: string, pciText: string): boolean {
  const parent = pciDir.slice(0, pciDir.length - pciText.length);
  const stem = pciText.slice(0, pciText.lastIndexOf('.') + 1);
  try {
    return readdirSync(parent).filter((n) => n.startsWith(stem)).length > 1;
  } catch {
    return false;
  }
}
