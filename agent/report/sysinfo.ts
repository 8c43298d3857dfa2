// Collects what the monitor is told about this client from /proc, /sys and os; a failed read is an empty value.

import { readdirSync, readFileSync, statfsSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import type { MonitorInfo } from './monitor.js';

export interface CollectOptions {
  /** Interface whose MAC is reported; default the first non-lo link with an address. */
  iface?: string;
  ip?: string;
  host?: string;
  imageName?: string;
  /** Prefix for /proc, /sys and /tmp (tests); default `/`. */
  root?: string;
}

/** Reads a file as text, or null when it cannot be read. */
function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The CPU model (and clock when known) from /proc/cpuinfo text, e.g. `Intel(R) Xeon(R) (2400.000 MHz)`. */
export function parseCpuModel(cpuinfo: string): string {
  const model = /^(?:model name|cpu model|Processor|cpu)\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? '';
  const mhz = /^cpu MHz\s*:\s*([0-9.]+)/m.exec(cpuinfo)?.[1];
  return [model, mhz ? `(${mhz} MHz)` : ''].filter((s) => s !== '').join(' ');
}

/** Number of `processor` entries in /proc/cpuinfo text (0 when none). */
export function countProcessors(cpuinfo: string): number {
  return cpuinfo.split('\n').filter((l) => /^processor\s*:/.test(l)).length;
}

/** MemTotal in kB from /proc/meminfo text, or null. */
export function parseMemTotalKb(meminfo: string): number | null {
  const m = /^MemTotal:\s*(\d+)\s*kB/m.exec(meminfo);
  return m ? Number(m[1]) : null;
}

/** Whole seconds of uptime from /proc/uptime text, or null. */
export function parseUptime(text: string): number | null {
  const v = Number.parseFloat(text.trim().split(/\s+/)[0] ?? '');
  return Number.isFinite(v) ? Math.floor(v) : null;
}

/** The MAC of iface, or of the first non-lo link (by name) with a non-zero address; '' when none. */
export function findMac(sysClassNet: string, iface?: string): string {
  const valid = (a: string | null): a is string => a !== null && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(a) && !/^(00:){5}00$/.test(a);
  const read = (name: string): string | null => readText(join(sysClassNet, name, 'address'))?.trim() ?? null;
  if (iface) {
    const a = read(iface);
    return valid(a) ? a : '';
  }
  let names: string[] = [];
  try {
    names = readdirSync(sysClassNet).filter((n) => n !== 'lo').sort();
  } catch {
    return '';
  }
  for (const n of names) {
    const a = read(n);
    if (valid(a)) return a;
  }
  return '';
}

/** Use % of the file system holding dir, rounded up as df does; null when unknown. */
export function measureUsePercent(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    const used = s.blocks - s.bfree;
    const denom = used + s.bavail;
    return denom > 0 ? Math.ceil((used * 100) / denom) : 0;
  } catch {
    return null;
  }
}

/** Everything the monitor line needs, read now; never throws. */
export function collectMonitorInfo(opts: CollectOptions = {}): MonitorInfo {
  const root = opts.root ?? '/';
  const cpuinfo = readText(join(root, 'proc/cpuinfo')) ?? '';
  const cores = countProcessors(cpuinfo);
  const osCpus = ((): number => {
    try {
      return os.cpus().length;
    } catch {
      return 0;
    }
  })();
  const meminfo = readText(join(root, 'proc/meminfo'));
  const uptime = readText(join(root, 'proc/uptime'));
  return {
    mac: findMac(join(root, 'sys/class/net'), opts.iface),
    ip: opts.ip ?? '',
    host: opts.host ?? '',
    cpu: parseCpuModel(cpuinfo),
    ncpus: cores > 0 ? cores : osCpus > 0 ? osCpus : null,
    kernel: readText(join(root, 'proc/sys/kernel/osrelease'))?.trim() || os.release(),
    mem: meminfo === null ? null : parseMemTotalKb(meminfo),
    os: opts.imageName ?? '',
    tmpfs: measureUsePercent(join(root, 'tmp')),
    time: uptime === null ? null : parseUptime(uptime),
  };
}
