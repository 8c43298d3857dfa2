// DEVICE given as a MAC address: the installed system and the installer name one NIC differently (ens3, eth0).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** True when the text is a MAC address (six colon-separated hex bytes). */
export function isMacAddress(text: string): boolean {
  return MAC.test(text.trim());
}

/**
 * The name of the link with this MAC in sysClassNet: undefined when the value is not a MAC (a name: nothing to do),
 * null when no link has it.
 */
export function resolveDeviceByMac(value: string, sysClassNet = '/sys/class/net'): string | null | undefined {
  if (!isMacAddress(value)) return undefined;
  const want = value.trim().toLowerCase();
  let names: string[] = [];
  try {
    names = readdirSync(sysClassNet).sort();
  } catch {
    return null;
  }
  for (const n of names) {
    try {
      if (readFileSync(join(sysClassNet, n, 'address'), 'utf8').trim().toLowerCase() === want) return n;
    } catch {
      /* not a link with an address */
    }
  }
  return null;
}
