// When the install worker dies from a signal it cannot tell the monitor itself: it leaves where the monitor is and
// what to tell it (MONITOR_SERVER may come from DHCP or local.cfg, known only to the worker) in a small file under
// /run, and PID 1 reads it and sends status -1 in the worker's place.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { formatMonitorMessage, type MonitorInfo } from '../report/monitor.js';
import { collectMonitorInfo } from '../report/sysinfo.js';
import { sendLine, sleep } from '../report/tcp-send.js';

/** The monitor the worker reports to, and the identity fields it sends. */
export interface MonitorContact {
  server: string;
  port: number;
  info: MonitorInfo;
}

/** Where the worker leaves its monitor contact for PID 1. */
export function monitorContactPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.SI_RUN ?? '/run', 'si-agent', 'monitor.json');
}

/** Writes the contact (a temporary file and a rename: PID 1 never reads half of it); never throws. */
export function saveMonitorContact(contact: MonitorContact, path = monitorContactPath()): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.tmp`, JSON.stringify(contact) + '\n');
    renameSync(`${path}.tmp`, path);
  } catch {
    // /run may be read-only outside the initrd: the crash report is then not possible, the install goes on.
  }
}

/** Reads the contact the worker left, or undefined when there is none (no MONITOR_SERVER, or it died before). */
export function loadMonitorContact(path = monitorContactPath()): MonitorContact | undefined {
  try {
    const c = JSON.parse(readFileSync(path, 'utf8')) as MonitorContact;
    return typeof c.server === 'string' && Number.isInteger(c.port) && c.info ? c : undefined;
  } catch {
    return undefined;
  }
}

/** The signal a worker died from: its own, or the one `tini` reports as exit code 128+N; undefined for a plain exit. */
export function deathSignal(code: number | null, signal: NodeJS.Signals | null): string | undefined {
  if (signal) return signal;
  if (code === null || code <= 128 || code > 128 + 64) return undefined;
  const name = Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0];
  return name ?? `signal ${code - 128}`;
}

/** The status -1 line PID 1 sends for the worker: its identity fields, uptime and tmpfs use as of now. */
export function formatDeathMessage(contact: MonitorContact, now: { time: number | null; tmpfs: number | null }): string {
  return formatMonitorMessage({ ...contact.info, time: now.time ?? contact.info.time, tmpfs: now.tmpfs ?? contact.info.tmpfs }, -1, 0, false);
}

/** Sends status -1 for the dead worker (3 attempts, 200 ms then 400 ms apart); resolves with what it did, never throws. */
export async function reportWorkerDeath(contact: MonitorContact, attempts = 3): Promise<{ ok: boolean; line: string; error?: string }> {
  const now = collectMonitorInfo();
  const line = formatDeathMessage(contact, now);
  let error = '';
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await sleep(200 * 2 ** (i - 1));
    try {
      await sendLine({ host: contact.server, port: contact.port, line, timeoutMs: 3000 });
      return { ok: true, line };
    } catch (err) {
      error = (err as Error).message;
    }
  }
  return { ok: false, line, error };
}
