import { describe, expect, it } from 'vitest';
import { baseHostname, isSafeName, shortHostname } from '../../../agent/plan/hostname.js';

describe('baseHostname', () => {
  it.each([
    ['node017', 'node'],
    ['web.example', 'web'],
    ['www7.domain.com', 'www'],
    ['compute', 'compute'],
    ['login-a1', 'login-a'],
    ['db_primary2x', 'db_primary'],
    ['10-0-0-5', ''], // starts with a digit: no base hostname, as BOEL's sed
    ['', ''],
  ])('%s -> %s', (host, base) => {
    expect(baseHostname(host)).toBe(base);
  });
});

describe('shortHostname', () => {
  it.each([
    ['node001.cluster.example', 'node001'],
    ['node001', 'node001'],
  ])('%s -> %s', (name, short) => expect(shortHostname(name)).toBe(short));
});

describe('isSafeName', () => {
  it.each([
    ['SuSE10_frontend', true],
    ['web_server_image_v1', true],
    ['rhel-9.4+custom', true],
    ['node001.cluster.example', true],
    ['', false],
    ['.hidden', false],
    ['-rf', false],
    ['..', false],
    ['../etc', false],
    ['a/b', false],
    ['$(reboot)', false],
    ['a;b', false],
    ['a b', false],
    ['img`id`', false],
    ['x\ny', false],
    ['é', false],
    ['a'.repeat(255), true],
    ['a'.repeat(256), false],
  ])('%j -> %s', (name, safe) => expect(isSafeName(name)).toBe(safe));
});
