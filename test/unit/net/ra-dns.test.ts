import { describe, expect, it } from 'vitest';
import type { RunOptions, RunResult, Runner } from '../../../agent/exec/runner.js';
import { parseRdisc6, raDns } from '../../../agent/net/ra-dns.js';
import { collectLog } from '../../helpers/log-lines.js';

// rdisc6 1.0.5 (Debian bookworm) answering for dnsmasq's router advertisement with RDNSS and DNSSL (ra-only range,
// option6:dns-server and option6:domain-search), as captured in a namespace.
const DNSMASQ_RA = `Soliciting ff02::2 (ff02::2) on vc0...

Hop limit                 :           64 (      0x40)
Stateful address conf.    :           No
Stateful other conf.      :           No
Mobile home agent         :           No
Router preference         :       medium
Neighbor discovery proxy  :           No
Router lifetime           :          300 (0x0000012c) seconds
Reachable time            :  unspecified (0x00000000)
Retransmit time           :  unspecified (0x00000000)
 Prefix                   : fd42:99::/64
  On-link                 :          Yes
  Autonomous address conf.:          Yes
  Valid time              :          120 (0x00000078) seconds
  Pref. time              :          120 (0x00000078) seconds
 MTU                      :         1500 bytes (valid)
 Source link-layer address: 66:D1:93:74:5E:A0
 DNS search list          : lab.example 
  DNS search list lifetime:          120 (0x00000078) seconds
 Recursive DNS server     : fd42:99::1
  DNS server lifetime     :          120 (0x00000078) seconds
 from fe80::64d1:93ff:fe74:5ea0
`;

const fakeRun = (r: Partial<RunResult> | Error): Runner =>
  (async (tool: string, args: readonly string[], _o: RunOptions = {}): Promise<RunResult> => {
    if (r instanceof Error) throw r;
    return { argv: [tool, ...args], code: 0, signal: null, stdout: '', stderr: '', ms: 1, ...r };
  }) as Runner;

describe('name servers from router advertisements (rdisc6)', () => {
  it('reads RDNSS and DNSSL and the router from a real rdisc6 report', () => {
    expect(parseRdisc6(DNSMASQ_RA)).toEqual({ dns: ['fd42:99::1'], domains: ['lab.example'], router: 'fe80::64d1:93ff:fe74:5ea0', skipped: [] });
  });

  it('several servers and domains, duplicates once, addresses in their short form', () => {
    const text = DNSMASQ_RA.replace(' DNS search list          : lab.example ', ' DNS search list          : lab.example Example.ORG. lab.example')
      .replace(' Recursive DNS server     : fd42:99::1', ' Recursive DNS server     : fd42:99::1\n  DNS server lifetime     :          120 (0x00000078) seconds\n Recursive DNS server     : FD42:0099:0000::53');
    expect(parseRdisc6(text)).toMatchObject({ dns: ['fd42:99::1', 'fd42:99::53'], domains: ['lab.example', 'example.org'], skipped: [] });
  });

  it('a lifetime of 0 withdraws an entry; malformed ones are skipped with why', () => {
    const text = DNSMASQ_RA.replace('DNS server lifetime     :          120', 'DNS server lifetime     :            0')
      .replace(' DNS search list          : lab.example ', ' DNS search list          : bad_domain!')
      .replace(' from fe80', ' Recursive DNS server     : 10.0.0.1\n  DNS server lifetime     :          120 (0x00000078) seconds\n from fe80');
    const r = parseRdisc6(text);
    expect(r.dns).toEqual([]);
    expect(r.domains).toEqual([]);
    expect(r.skipped).toEqual(['bad_domain! (not a domain name)', 'fd42:99::1 (lifetime 0: withdrawn)', '10.0.0.1 (not an IPv6 address)']);
  });

  it('raDns: solicits on the link, logs what it found', async () => {
    const { report, lines } = collectLog();
    let argv: string[] = [];
    const run = (async (tool: string, args: readonly string[]) => {
      argv = [tool, ...args];
      return { argv, code: 0, signal: null, stdout: DNSMASQ_RA, stderr: '', ms: 1 };
    }) as Runner;
    expect(await raDns('vc0', run, report)).toMatchObject({ dns: ['fd42:99::1'], domains: ['lab.example'] });
    expect(argv).toEqual(['rdisc6', '-1', '-n', '-r', '3', '-w', '1000', 'vc0']);
    expect(lines).toEqual(['info IPv6 on vc0: router advertisement from fe80::64d1:93ff:fe74:5ea0: name servers fd42:99::1, search lab.example']);
  });

  it('raDns: no rdisc6, or no answer: empty lists and a warning naming why', async () => {
    const a = collectLog();
    expect(await raDns('vc0', fakeRun(new Error('cannot run rdisc6: spawn rdisc6 ENOENT')), a.report)).toEqual({ dns: [], domains: [], skipped: [] });
    expect(a.lines).toEqual(['warn IPv6 on vc0: no name servers from router advertisements (cannot run rdisc6: spawn rdisc6 ENOENT)']);
    const b = collectLog();
    await raDns('vc0', fakeRun({ code: 2, stdout: 'Soliciting ff02::2 (ff02::2) on vc0...\nTimed out.\nNo response.\n' }), b.report);
    expect(b.lines).toEqual(['warn IPv6 on vc0: no name servers from router advertisements (No response.)']);
  });
});
