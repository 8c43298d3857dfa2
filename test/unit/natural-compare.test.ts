import { describe, expect, it } from 'vitest';
import { naturalCompare } from '../../agent/natural-compare.js';

describe('naturalCompare', () => {
  it('orders digit runs by value and the rest byte-wise', () => {
    expect(['eth10', 'eth2', 'eth1', 'enp0s3', 'eth0'].sort(naturalCompare)).toEqual(['enp0s3', 'eth0', 'eth1', 'eth2', 'eth10']);
    expect(['sdb10', 'sdb2', 'sda', 'sdb1', 'sdb'].sort(naturalCompare)).toEqual(['sda', 'sdb', 'sdb1', 'sdb2', 'sdb10']);
    expect(['vmlinuz-6.1.0-10-amd64', 'vmlinuz-6.1.0-9-amd64', 'vmlinuz-5.10.0-28-amd64'].sort(naturalCompare)).toEqual([
      'vmlinuz-5.10.0-28-amd64',
      'vmlinuz-6.1.0-9-amd64',
      'vmlinuz-6.1.0-10-amd64',
    ]);
  });
  it('is zero only for equal names and antisymmetric', () => {
    expect(naturalCompare('nvme0n1', 'nvme0n1')).toBe(0);
    expect(Math.sign(naturalCompare('a07', 'a7'))).toBe(-Math.sign(naturalCompare('a7', 'a07')));
    expect(naturalCompare('a07', 'a7')).not.toBe(0);
    expect(naturalCompare('sr0', 'sr')).toBeGreaterThan(0);
  });
});
