// Where the push server listens and which remote-forward binds it serves: pure, so the choices are tested on their own.

import { isIP } from 'node:net';
import { bracketHost } from '../../net/ipv6-values.js';

/**
 * The addresses to listen on: each install address once, in the order given (the one the image server sees first),
 * else every IPv4 address as before when none is known. One listener per address rather than one `::` socket taking
 * both families: only the addresses the install network gave are served (not another NIC), an IPv4 pusher is not
 * seen as an `::ffff:` mapped address, nothing depends on the kernel's bindv6only or on IPv6 being built in, and
 * each address bound is logged as such.
 */
export function pushListenAddresses(candidates: ReadonlyArray<string | undefined>): string[] {
  const out: string[] = [];
  for (const c of candidates) {
    const a = c?.trim().toLowerCase();
    if (a && isIP(a) && !out.includes(a)) out.push(a);
  }
  return out.length > 0 ? out : ['0.0.0.0'];
}

/** `10.0.0.2:22 and [fd00::10]:22`: the listen addresses as an operator would type them. */
export function formatListen(addresses: readonly string[], port: number): string {
  return addresses.map((a) => `${bracketHost(a)}:${port}`).join(' and ');
}

/** The hosts the image server may bind its remote forward to: loopback only (OpenSSH sends `[::1]` as `::1`). */
const LOOPBACK_BINDS = new Set(['localhost', '127.0.0.1', '::1']);

/** True when a remote forward's bind address is one of the loopback names si_pushinstall may use. */
export function isLoopbackBind(bindAddr: string): boolean {
  return LOOPBACK_BINDS.has(bindAddr.toLowerCase());
}
