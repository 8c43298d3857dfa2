// safeRelPath: the usual names take a fast path; every name gives what splitting on `/` gives, or the same refusal.

import { describe, expect, it } from 'vitest';
import { TargetTree, safeRelPath } from '../../../agent/transport/tar/paths.js';

describe('safeRelPath', () => {
  it.each([
    ['./usr/bin/ls', 'usr/bin/ls'],
    ['./etc/', 'etc'],
    ['usr/lib/x.so', 'usr/lib/x.so'],
    ['./', ''],
    ['.', ''],
    ['', ''],
    ['./etc/skel/.bashrc', 'etc/skel/.bashrc'],
    ['.hidden', '.hidden'],
    ['a//b/./c/', 'a/b/c'],
    ['./a/.../b', 'a/.../b'],
    ['a/..b/c', 'a/..b/c'],
  ])('%j -> %j', (raw, rel) => {
    expect(safeRelPath(raw, raw)).toBe(rel);
  });

  it.each([
    ['../x', /contains "\.\."/],
    ['a/../../x', /contains "\.\."/],
    ['./a/..', /contains "\.\."/],
    ['/etc/passwd', /absolute path/],
    ['a\0b', /NUL byte/],
  ])('refuses %j', (raw, message) => {
    expect(() => safeRelPath(raw, raw)).toThrow(message);
  });
});

describe('TargetTree.abs', () => {
  it('appends the relative path to the normalized root', () => {
    expect(new TargetTree('/mnt/root/').abs('usr/bin')).toBe('/mnt/root/usr/bin');
    expect(new TargetTree('/mnt/./root').abs('a')).toBe('/mnt/root/a');
    expect(new TargetTree('/').abs('etc')).toBe('/etc');
    expect(new TargetTree('/mnt/root/').abs('')).toBe('/mnt/root/');
  });
});
