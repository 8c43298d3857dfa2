// Unit: what the cast probe reads from a udpcast sender's packets (captured layouts of udpc-protoc.h).

import { describe, expect, it } from 'vitest';
import { classifySenderPacket, OP } from '../../../agent/transport/multicast/watch.js';

const packet = (op: number, rest: number[] = []) => Buffer.from([op >> 8, op & 255, ...rest]);

describe('classifySenderPacket', () => {
  it('a new-generation hello carries the data multicast address', () => {
    // opCode, reserved, capabilities 0x00000009 (CAP_NEW_GEN|CAP_BIG_ENDIAN), mcastAddr 234.77.1.1 (+12 bytes), blockSize
    const hello = packet(OP.HELLO_NEW, [0, 0, 0, 0, 0, 9, 234, 77, 1, 1, ...new Array(12).fill(0), 0x05, 0xb0]);
    expect(classifySenderPacket(hello)).toEqual({ kind: 'hello', dataAddr: '234.77.1.1' });
    expect(classifySenderPacket(packet(OP.HELLO, [0, 0, 0, 0, 0, 9, 234, 77, 1, 1]))).toEqual({ kind: 'hello', dataAddr: '234.77.1.1' });
  });
  it('an old hello or one without a multicast address: a hello, no address', () => {
    expect(classifySenderPacket(packet(OP.HELLO, [0, 0, 0, 0, 0, 8, 10, 0, 0, 1]))).toEqual({ kind: 'hello', dataAddr: undefined });
    expect(classifySenderPacket(packet(OP.HELLO_NEW, [0, 0, 0, 0, 0, 9, 10, 0, 0, 1]))).toEqual({ kind: 'hello', dataAddr: undefined });
  });
  it('data, FEC and acknowledgement requests are a cast under way; the rest and runts are not', () => {
    expect(classifySenderPacket(packet(OP.DATA, [0, 0, 0, 0, 0, 1]))).toEqual({ kind: 'cast' });
    expect(classifySenderPacket(packet(OP.REQACK))).toEqual({ kind: 'cast' });
    expect(classifySenderPacket(packet(OP.FEC))).toEqual({ kind: 'cast' });
    expect(classifySenderPacket(packet(OP.CONNECT_REPLY))).toEqual({ kind: 'other' });
    expect(classifySenderPacket(Buffer.from([8]))).toEqual({ kind: 'other' });
  });
});
