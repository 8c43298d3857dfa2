import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectMonitorInfo, countProcessors, findMac, parseCpuModel, parseMemTotalKb, parseUptime } from '../../../agent/report/sysinfo.js';

const CPUINFO_X86 = `processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 85
model name\t: Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz
cpu MHz\t\t: 2095.078
cpu cores\t: 2

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz
cpu MHz\t\t: 2095.078
`;

let root = '';
const put = (rel: string, text: string): void => {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), text);
};
beforeEach(() => {
  root = mkdtempSync(join(os.tmpdir(), 'si-sysinfo-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('parsers', () => {
  it('reads the CPU model with its clock and counts processors', () => {
    expect(parseCpuModel(CPUINFO_X86)).toBe('Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz (2095.078 MHz)');
    expect(parseCpuModel('processor : 0\ncpu : POWER9 (raw), altivec supported\n')).toBe('POWER9 (raw), altivec supported');
    expect(parseCpuModel('')).toBe('');
    expect(countProcessors(CPUINFO_X86)).toBe(2);
  });
  it('reads MemTotal and uptime', () => {
    expect(parseMemTotalKb('MemTotal:        8040000 kB\nMemFree:  1 kB\n')).toBe(8040000);
    expect(parseMemTotalKb('nothing')).toBeNull();
    expect(parseUptime('12345.67 54321.00\n')).toBe(12345);
    expect(parseUptime('')).toBeNull();
  });
});

describe('findMac', () => {
  it('takes the named interface, else the first non-lo link with a real address', () => {
    put('sys/class/net/lo/address', '00:00:00:00:00:00\n');
    put('sys/class/net/dummy0/address', '00:00:00:00:00:00\n');
    put('sys/class/net/eth1/address', '52:54:00:00:00:02\n');
    put('sys/class/net/eth0/address', '52:54:00:00:00:01\n');
    const net = join(root, 'sys/class/net');
    expect(findMac(net)).toBe('52:54:00:00:00:01');
    expect(findMac(net, 'eth1')).toBe('52:54:00:00:00:02');
    expect(findMac(net, 'missing0')).toBe('');
    expect(findMac(join(root, 'nope'))).toBe('');
  });
});

describe('collectMonitorInfo', () => {
  it('fills every field from the files under root', () => {
    put('proc/cpuinfo', CPUINFO_X86);
    put('proc/meminfo', 'MemTotal:        2000000 kB\n');
    put('proc/uptime', '77.10 100.00\n');
    put('proc/sys/kernel/osrelease', '6.1.0-18-amd64\n');
    put('sys/class/net/enp1s0/address', 'aa:bb:cc:dd:ee:ff\n');
    mkdirSync(join(root, 'tmp'));
    const i = collectMonitorInfo({ root, ip: '10.0.0.7', host: 'node07', imageName: 'rocky9' });
    expect(i).toMatchObject({ mac: 'aa:bb:cc:dd:ee:ff', ip: '10.0.0.7', host: 'node07', cpu: 'Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz (2095.078 MHz)', ncpus: 2, kernel: '6.1.0-18-amd64', mem: 2000000, os: 'rocky9', time: 77 });
    expect(i.tmpfs).toBeGreaterThanOrEqual(0);
    expect(i.tmpfs).toBeLessThanOrEqual(100);
  });

  it('degrades to empty values when nothing can be read', () => {
    const i = collectMonitorInfo({ root: join(root, 'absent') });
    expect(i).toMatchObject({ mac: '', ip: '', host: '', cpu: '', mem: null, os: '', tmpfs: null, time: null, kernel: os.release() });
    expect(i.ncpus).toBe(os.cpus().length || null);
  });
});
