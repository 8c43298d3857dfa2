// What an 802.3ad bond negotiated, from the kernel's /proc/net/bonding/<bond>: the active aggregator, its LACP
// partner and the ports in it. A bond whose switch ports do not speak LACP still carries traffic (on one port, with
// no partner): the operator is told, since that is a switch configuration to fix.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Reporter } from '../report/events.js';

export interface LacpStatus {
  aggregator: number;
  /** The partner's system MAC; 00:00:00:00:00:00 when no partner answered. */
  partner: string;
  partnerKey: number;
  /** The slaves in the active aggregator, in the order the kernel lists them. */
  ports: string[];
  /** Every slave of the bond. */
  slaves: string[];
}

const NO_PARTNER = '00:00:00:00:00:00';

/** The 802.3ad status in the text of /proc/net/bonding/<bond> (pure); undefined when it is no 802.3ad bond or has no active aggregator yet. */
export function parseLacpStatus(text: string): LacpStatus | undefined {
  if (!/^Bonding Mode: IEEE 802\.3ad/m.test(text)) return undefined;
  const active = /^Active Aggregator Info:\n((?:\t.*\n?)*)/m.exec(text)?.[1] ?? '';
  const field = (block: string, name: string) => new RegExp(`^\\s*${name}: (.*)$`, 'm').exec(block)?.[1]?.trim();
  const aggregator = Number(field(active, 'Aggregator ID'));
  if (!Number.isInteger(aggregator) || aggregator <= 0) return undefined;
  const slaves: string[] = [];
  const ports: string[] = [];
  for (const block of text.split(/^Slave Interface: /m).slice(1)) {
    const name = block.split('\n', 1)[0]!.trim();
    slaves.push(name);
    if (Number(field(block, 'Aggregator ID')) === aggregator) ports.push(name);
  }
  return { aggregator, partner: (field(active, 'Partner Mac Address') ?? NO_PARTNER).toLowerCase(), partnerKey: Number(field(active, 'Partner Key') ?? 0), ports, slaves };
}

/** The log line for the status, and whether it is a warning (no partner, or a slave left out of the aggregation). */
export function describeLacp(bond: string, s: LacpStatus): { text: string; warn: boolean } {
  if (s.partner === NO_PARTNER) {
    return { text: `${bond}: 802.3ad found no LACP partner (the switch ports are not set for LACP?): traffic goes on aggregator ${s.aggregator}, port ${s.ports.join(', ') || 'none'} only`, warn: true };
  }
  const out = s.slaves.filter((n) => !s.ports.includes(n));
  const text = `${bond}: 802.3ad aggregator ${s.aggregator} with partner ${s.partner} (key ${s.partnerKey}), ports ${s.ports.join(', ')}`;
  return out.length ? { text: `${text}; not aggregated: ${out.join(', ')}`, warn: true } : { text, warn: false };
}

/**
 * Waits (up to waitMs) for the 802.3ad bond to have a partner and every slave in its active aggregator, then logs
 * what it has; a bond in another mode logs nothing.
 */
export async function reportLacp(bond: string, report: Reporter, opts: { procNetBonding?: string; waitMs?: number; signal?: AbortSignal } = {}): Promise<LacpStatus | undefined> {
  const file = join(opts.procNetBonding ?? '/proc/net/bonding', bond);
  const waitMs = opts.waitMs ?? 6000;
  const until = Date.now() + waitMs;
  let s: LacpStatus | undefined;
  for (;;) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (!/^Bonding Mode: IEEE 802\.3ad/m.test(text)) return undefined;
    s = parseLacpStatus(text);
    const done = s !== undefined && s.partner !== NO_PARTNER && s.ports.length === s.slaves.length;
    if (done || Date.now() >= until || opts.signal?.aborted) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  if (!s) {
    report.warn(`${bond}: 802.3ad has no active aggregator after ${Math.round(waitMs / 1000)} s`);
    return undefined;
  }
  const d = describeLacp(bond, s);
  if (d.warn) report.warn(d.text);
  else report.info(d.text);
  return s;
}
