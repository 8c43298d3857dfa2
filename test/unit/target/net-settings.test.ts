import { describe, expect, it } from 'vitest';
import { ParamError } from '../../../agent/errors.js';
import { chooseIpAssignment, parseNameservers, resolveNetSettings } from '../../../agent/target/net-settings.js';
import { paramsOf } from './fixture-tree.js';

describe('chooseIpAssignment', () => {
  it.each([
    [{}, {}, 'dhcp'],
    [{ IPADDR: '10.0.0.5' }, {}, 'static'], // given by the operator: the install ran static
    [{ IPADDR: '10.0.0.5' }, { IPADDR: 'dhcp' }, 'dhcp'], // from the lease
    [{ IPADDR: '10.0.0.5', IP_ASSIGNMENT: 'dhcp' }, {}, 'dhcp'],
    [{ IP_ASSIGNMENT: 'Replicant' }, {}, 'replicant'],
  ])('%j from %j -> %s', (v, src, want) => expect(chooseIpAssignment(paramsOf(v, src))).toBe(want));
});

describe('resolveNetSettings', () => {
  it('splits an FQDN HOSTNAME and computes the mask', () => {
    const s = resolveNetSettings(paramsOf({ HOSTNAME: 'node7.lab.example', IPADDR: '10.1.2.3', NETMASK: '255.255.0.0', GATEWAY: '10.1.0.1', DEVICE: 'eth0' }), 'nameserver 10.1.0.53\nnameserver bogus\n');
    expect(s).toMatchObject({ assignment: 'static', hostname: 'node7', domain: 'lab.example', fqdn: 'node7.lab.example', ip: '10.1.2.3', prefix: 16, netmask: '255.255.0.0', gateway: '10.1.0.1', dns: ['10.1.0.53'] });
  });

  it('prefers DOMAINNAME and falls back to the classful mask', () => {
    const s = resolveNetSettings(paramsOf({ HOSTNAME: 'n1', DOMAINNAME: 'corp.example', IPADDR: '192.168.4.9' }));
    expect(s.fqdn).toBe('n1.corp.example');
    expect(s.prefix).toBe(24);
  });

  it('reports every bad value at once, naming where it came from', () => {
    const bad = paramsOf({ HOSTNAME: 'bad_name', DEVICE: 'eth0; rm -rf /', IP_ASSIGNMENT: 'static', IPADDR: '10.0.0.5', NETMASK: '255.0.255.0' }, { HOSTNAME: 'local.cfg:/local.cfg:3' });
    try {
      resolveNetSettings(bad);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ParamError);
      const keys = (e as ParamError).problems.map((p) => p.key).sort();
      expect(keys).toEqual(['DEVICE', 'HOSTNAME', 'NETMASK']);
      expect((e as ParamError).problems.find((p) => p.key === 'HOSTNAME')!.source).toBe('local.cfg:/local.cfg:3');
    }
  });

  it('needs IPADDR for static', () => {
    expect(() => resolveNetSettings(paramsOf({ IP_ASSIGNMENT: 'static' }))).toThrow(/IPADDR/);
  });

  it('reads name servers in order, without duplicates or junk', () => {
    expect(parseNameservers('# x\nnameserver 1.1.1.1\nnameserver 1.1.1.1\n nameserver ::1\nnameserver 300.1.1.1\n')).toEqual(['1.1.1.1', '::1']);
  });
});
