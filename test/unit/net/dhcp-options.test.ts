import { describe, expect, it } from 'vitest';
import { decodeDhcpPacket } from '../../../agent/net/dhcp-packet.js';
import { chooseImageServer, describeDhcpAssignments, interpretLease, leaseToAssignments, type Lease } from '../../../agent/net/dhcp-options.js';
import { decodePort, decodeServerAddress, decodeText, decodeUint, maskToPrefix, prefixToMask } from '../../../agent/net/dhcp-values.js';
import { checkValue } from '../../../agent/params/validate.js';
import { encodeReply } from '../../system/lib-net/reply-builder.js';

const MAC = Buffer.from([2, 0, 0, 0, 0, 1]);
const b = (s: string) => Buffer.from(s, 'latin1');

function leaseWith(options: Array<[number, Buffer]>, yiaddr = '10.213.0.50'): Lease {
  const d = decodeDhcpPacket(encodeReply({ type: 'ack', xid: 7, mac: MAC, yiaddr, options }));
  if (!d.ok) throw new Error(d.reason);
  return interpretLease(d.msg, 'eth0', '10.213.0.1');
}

describe('decodeServerAddress (option 140 / 100)', () => {
  const cases: Array<[string, Buffer, string | null, string?]> = [
    ['4 bytes (ip-address)', Buffer.from([10, 0, 0, 1]), '10.0.0.1', 'ip-address'],
    ['text dotted quad (ISC `text`, dnsmasq quoted)', b('10.0.0.1'), '10.0.0.1', 'text (dotted quad)'],
    ['text with a trailing NUL', b('10.0.0.1\0'), '10.0.0.1'],
    ['text with quotes kept by the server', b('"10.0.0.1"'), '10.0.0.1'],
    ['quoted colon hex', b('"0a:00:00:01"'), '10.0.0.1', 'text (colon hex)'],
    ['colon hex without zero padding', b('a:0:0:1'), '10.0.0.1'],
    ['colon hex of the ASCII dotted quad', b('31:30:2e:30:2e:30:2e:31'), '10.0.0.1', 'text (colon hex of text)'],
    ['host name', b('imageserver.example.com'), 'imageserver.example.com', 'text (host name)'],
    ['bad dotted quad', b('10.0.0.300'), null],
    ['leading zeros', b('010.0.0.1'), null],
    ['shell metacharacters', b('$(reboot)'), null],
    ['newline', b('10.0.0.1\nIMAGENAME=x'), null],
    ['empty', Buffer.alloc(0), null],
    ['3 bytes', Buffer.from([1, 2, 3]), null],
  ];
  for (const [name, raw, want, form] of cases) {
    it(name, () => {
      const d = decodeServerAddress(raw);
      if (want === null) expect(d.ok).toBe(false);
      else {
        expect(d).toMatchObject({ ok: true, value: want });
        if (form && d.ok) expect(d.form).toBe(form);
      }
    });
  }
});

describe('integer and text options', () => {
  it('reads 1, 2 and 4 byte integers (dnsmasq sends the smallest width) and decimal text', () => {
    expect(decodeUint(Buffer.from([80]))).toMatchObject({ value: 80 });
    expect(decodeUint(Buffer.from([0x23, 0x8c]))).toMatchObject({ value: 9100, form: 'uint16' });
    expect(decodeUint(Buffer.from([0, 0, 0x14, 0x14]))).toMatchObject({ value: 5140 });
    expect(decodeUint(b('514'))).toMatchObject({ value: 514, form: 'text' });
    expect(decodePort(b('5140'))).toMatchObject({ value: '5140', form: 'text' });
    expect(decodeUint(Buffer.from([1, 2, 3])).ok).toBe(false);
    expect(decodePort(Buffer.from([0, 0])).ok).toBe(false);
    expect(decodePort(Buffer.from([0, 1, 0, 0])).ok).toBe(false);
  });
  it('refuses control characters in text', () => {
    expect(decodeText(b('yes\0\0'))).toMatchObject({ value: 'yes' });
    expect(decodeText(b('a\nb')).ok).toBe(false);
    expect(decodeText(Buffer.from([0xff, 0xfe])).ok).toBe(false);
  });
  it('converts masks', () => {
    expect(maskToPrefix('255.255.252.0')).toBe(22);
    expect(maskToPrefix('255.0.255.0')).toBeUndefined();
    expect(maskToPrefix('0.0.0.0')).toBe(0);
    expect(maskToPrefix('255.255.255.255')).toBe(32);
    expect(prefixToMask(20)).toBe('255.255.240.0');
  });
});

describe('leaseToAssignments', () => {
  it('maps options 140-144 and the standard ones, each tagged dhcp with its option', () => {
    const lease = leaseWith([
      [140, Buffer.from([10, 213, 0, 2])],
      [141, Buffer.from([0x14, 0x14])],
      [142, b('http://10.213.0.2/keys')],
      [143, Buffer.from([0x23, 0x8c])],
      [144, b('yes')],
      [7, Buffer.from([10, 213, 0, 3, 10, 213, 0, 4])],
      [12, b('node017')],
      [15, b('cluster.example')],
      [28, Buffer.from([10, 213, 0, 255])],
      [6, Buffer.from([10, 213, 0, 53])],
    ]);
    const a = leaseToAssignments(lease);
    const map = Object.fromEntries(a.map((x) => [x.name, x.value]));
    expect(map).toEqual({
      IMAGESERVER: '10.213.0.2',
      LOG_SERVER_PORT: '5140',
      SSH_DOWNLOAD_URL: 'http://10.213.0.2/keys',
      FLAMETHROWER_DIRECTORY_PORTBASE: '9100',
      TMPFS_STAGING: 'yes',
      LOG_SERVER: '10.213.0.3',
      HOSTNAME: 'node017',
      DOMAINNAME: 'cluster.example',
      IPADDR: '10.213.0.50',
      NETMASK: '255.255.255.0',
      BROADCAST: '10.213.0.255',
      GATEWAY: '10.213.0.1',
      DEVICE: 'eth0',
    });
    expect(a.every((x) => x.source === 'dhcp')).toBe(true);
    expect(a.find((x) => x.name === 'IMAGESERVER')!.option).toBe('140');
    expect(lease.dns).toEqual(['10.213.0.53']);
    for (const x of a) expect(checkValue(x.name, x.value)).toBeUndefined();
    expect(describeDhcpAssignments(a)[0]).toBe('IMAGESERVER=10.213.0.2 (dhcp option 140)');
  });

  it('falls back to option 100, then to the server identifier', () => {
    expect(chooseImageServer(leaseWith([[100, b('10.9.9.9')]]))).toMatchObject({ value: '10.9.9.9', option: '100' });
    expect(chooseImageServer(leaseWith([[140, b('not an address!')], [100, Buffer.from([10, 8, 8, 8])]]))).toMatchObject({ value: '10.8.8.8', option: '100' });
    const bad = leaseWith([[140, b('$(reboot)')]]);
    expect(chooseImageServer(bad)).toMatchObject({ value: '10.213.0.1', option: '54' });
  });

  it('leaves undecodable options out and lists why; keeps odd text for validation to name', () => {
    const lease = leaseWith([[141, Buffer.from([1, 2, 3])], [142, b('a\nb')], [144, b('maybe')], [12, b('bad name!')], [1, Buffer.from([255, 0, 255, 0])]]);
    const a = leaseToAssignments(lease);
    const names = a.map((x) => x.name);
    expect(names).not.toContain('LOG_SERVER_PORT');
    expect(names).not.toContain('SSH_DOWNLOAD_URL');
    expect(names).not.toContain('HOSTNAME');
    expect(a.find((x) => x.name === 'TMPFS_STAGING')!.value).toBe('maybe');
    expect(a.find((x) => x.name === 'NETMASK')!.value).toBe('255.0.0.0'); // classful fallback for 10/8
    expect(lease.problems.join('\n')).toMatch(/option 141/);
    expect(lease.problems.join('\n')).toMatch(/option 142/);
    expect(lease.problems.join('\n')).toMatch(/option 12/);
    expect(lease.problems.join('\n')).toMatch(/not a contiguous netmask/);
  });

  it('an empty option 143 means multicast with the default portbase', () => {
    const a = leaseToAssignments(leaseWith([[143, Buffer.alloc(0)]]));
    expect(a.find((x) => x.name === 'FLAMETHROWER_DIRECTORY_PORTBASE')).toMatchObject({ value: '' });
  });
});
