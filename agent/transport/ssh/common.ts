// What both SSH transports share: the cipher preference and joining a TCP socket to an SSH channel.

import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { CipherAlgorithm } from 'ssh2';

/**
 * Ciphers in the order offered. AES-GCM first: ssh2 runs it through Node's OpenSSL (AES-NI), while its
 * chacha20-poly1305 is pure JavaScript in a single executable without ssh2's optional compiled addon.
 */
export const SSH_CIPHERS: CipherAlgorithm[] = [
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'aes128-ctr',
  'aes256-ctr',
  'chacha20-poly1305@openssh.com',
];

/** Pipes a socket and a channel into each other; either side ending or failing ends the other. */
export function pipeBoth(sock: Socket, channel: Duplex): void {
  // rsync's protocol is many small round trips: Nagle's algorithm would hold each small write back.
  sock.setNoDelay(true);
  sock.pipe(channel).pipe(sock);
  const end = () => {
    sock.destroy();
    channel.destroy();
  };
  sock.on('error', end);
  channel.on('error', end);
  sock.on('close', () => channel.end());
  channel.on('close', () => sock.end());
  sock.resume();
}
