// Unit: where the push server (SSHD=y) listens, how it names those addresses, and which remote-forward binds it serves.

import { describe, expect, it } from 'vitest';
import { formatListen, isLoopbackBind, pushListenAddresses } from '../../../agent/transport/ssh/push-listen.js';

describe('pushListenAddresses', () => {
  it.each([
    ['IPv4 only: the client address', ['10.0.0.2', '10.0.0.2', undefined], ['10.0.0.2']],
    ['IPv6 only: the IPv6 address (IPADDR unset)', ['fd42::10', undefined, 'fd42::10'], ['fd42::10']],
    ['dual stack, server on IPv4: IPv4 first, then IPv6', ['10.0.0.2', '10.0.0.2', 'fd42::10'], ['10.0.0.2', 'fd42::10']],
    ['dual stack, server on IPv6: IPv6 first, then IPv4', ['fd42::10', '10.0.0.2', 'fd42::10'], ['fd42::10', '10.0.0.2']],
    ['IPv6 spelled in upper case once: one address', ['FD42::10', undefined, 'fd42::10'], ['fd42::10']],
    ['a value that is not an address is skipped', ['node001', '', ' 10.0.0.2 '], ['10.0.0.2']],
    ['nothing known: every IPv4 address, as before', [undefined, undefined, undefined], ['0.0.0.0']],
  ] as Array<[string, Array<string | undefined>, string[]]>)('%s', (_what, given, expected) => {
    expect(pushListenAddresses(given)).toEqual(expected);
  });
});

describe('formatListen', () => {
  it('brackets IPv6 addresses and joins several with "and"', () => {
    expect(formatListen(['10.0.0.2'], 22)).toBe('10.0.0.2:22');
    expect(formatListen(['fd42:77:9::10'], 22)).toBe('[fd42:77:9::10]:22');
    expect(formatListen(['10.0.0.2', 'fd42:77:9::10'], 22)).toBe('10.0.0.2:22 and [fd42:77:9::10]:22');
  });
});

describe('isLoopbackBind', () => {
  it.each(['localhost', 'LOCALHOST', '127.0.0.1', '::1'])('serves a forward bound to %s', (bind) => {
    expect(isLoopbackBind(bind)).toBe(true);
  });
  it.each(['', '0.0.0.0', '::', '*', '10.0.0.1', 'fd42::1', '127.0.0.2', 'localhost.example', '[::1]'])('refuses a forward bound to %j', (bind) => {
    expect(isLoopbackBind(bind)).toBe(false);
  });
});
