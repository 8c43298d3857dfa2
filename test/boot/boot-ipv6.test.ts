// Boot tier (needs root, qemu-system-x86_64, ip netns, /dev/net/tun, dnsmasq, rsync, nft; TCG, no KVM): an install
// over IPv6 only. The guest's NIC is a tap in a namespace the test makes; the tap holds only an IPv6 address (no IPv4
// anywhere); dnsmasq sends router advertisements with no SLAAC flag, leases by DHCPv6 and answers AAAA queries for
// imageserver.test; the rsync daemon and a stand-in for the monitor listen on IPv6 only. The kernel command line says
// si.ipv4=off si.ipv6=dhcp6 and names the image server and the monitor by name. An nftables counter on the tap's
// ingress counts every IPv4 and ARP frame the guest sends: none.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { canRunNetTests, createLab, waitFor, type Lab } from '../system/lib-net/netns.ts';
import { startDnsmasq6 } from '../system/lib-net/servers.ts';
import { buildTestPackage, canBoot, removeTestDir } from './package-fixture.ts';
import { blankDisk, DiskReader, expectFixtureInstalled, startNsRsyncd } from './tap-boot.ts';
import { bootQemu, tailOf, type QemuOutcome } from './qemu.ts';

const PREFIX = 'fd42:77:9';
const SERVER = `${PREFIX}::1`;
const TAP = 'si6tap0';
const MAC = '52:54:00:5b:06:01';
const NFT_TABLE = 'si6count';
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

// The monitor daemon's stand-in: one line per message with the peer's address, on [SERVER]:8181.
const MONITOR = `require('net').createServer((s) => { let b = ''; s.on('data', (d) => (b += d)); s.on('end', () => b.split('\\n').filter(Boolean).forEach((l) => console.log(s.remoteAddress + ' ' + l))); s.on('error', () => {}); }).listen(8181, process.argv[1], () => console.log('listening'));`;

/** Why this test cannot run here, or null. */
function skipReason(): string | null {
  if (!canBoot()) return 'needs root and qemu-system-x86_64';
  if (!canRunNetTests()) return 'needs ip netns';
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun for the tap device';
  for (const t of ['/usr/sbin/dnsmasq', '/usr/bin/rsync', '/usr/sbin/nft']) if (!existsSync(t)) return `needs ${t}`;
  return null;
}
const reason = skipReason();
if (reason) console.warn(`boot-ipv6 skipped: ${reason}`);

describe.skipIf(reason !== null)('boot and install over IPv6 only (RA + DHCPv6, servers by name through AAAA)', () => {
  let dir: string | undefined;
  let pkg: PackageResult;
  let lab: Lab | undefined;
  let server: ImageServerInfo;
  let ns = '';
  const reader = new DiskReader();

  beforeAll(async () => {
    ({ dir, pkg } = await buildTestPackage('console=ttyS0 panic=-1', false));
    lab = createLab('boot-ipv6');
    server = await makeImageServer(join(lab.dir, 'server'));
    ns = lab.ns('v6');
    sh('ip', ['-n', ns, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap']);
    sh('ip', ['-n', ns, '-6', 'addr', 'add', `${SERVER}/64`, 'dev', TAP, 'nodad']);
    sh('ip', ['-n', ns, 'link', 'set', TAP, 'up']);
    // Counters of the IPv4 and ARP frames the guest sends (the tap's ingress is what the guest transmits).
    sh('ip', ['netns', 'exec', ns, 'nft', 'add', 'table', 'netdev', NFT_TABLE]);
    sh('ip', ['netns', 'exec', ns, 'nft', 'add', 'chain', 'netdev', NFT_TABLE, 'in', `{ type filter hook ingress device ${TAP} priority 0 ; }`]);
    for (const proto of ['ip', 'arp', 'ip6']) sh('ip', ['netns', 'exec', ns, 'nft', 'add', 'rule', 'netdev', NFT_TABLE, 'in', 'meta', 'protocol', proto, 'counter']);
    await startDnsmasq6(lab, ns, 'dnsmasq', TAP, { prefix: PREFIX, mode: 'dhcp6', hosts: { 'imageserver.test': SERVER }, domain: 'test' });
    await startNsRsyncd(lab, ns, server, SERVER, ['--ipv6']);
    lab.daemon(ns, 'monitor', [process.execPath, '-e', MONITOR, SERVER]);
    await waitFor(() => /listening/.test(lab!.log('monitor')), 10_000, `the monitor: ${lab.log('monitor')}`);
  }, 300_000);

  afterAll(async () => {
    reader.release();
    await lab?.cleanup(); // kills dnsmasq, rsyncd and the monitor; deletes the namespace with its tap and nft table
    removeTestDir(dir);
  });

  it('DHCPv6 lease, image server and monitor by name (AAAA), rsync over [addr], monitor over IPv6, no IPv4 frame, powers off', async () => {
    const d = dir!;
    const disk = blankDisk(d);
    const r: QemuOutcome = await bootQemu({
      workDir: d,
      kernel: join(pkg.dir, 'kernel'),
      initrd: join(pkg.dir, 'initrd.img'),
      append: 'console=ttyS0 panic=-1 POST_ACTION=shutdown si.ipv4=off si.ipv6=dhcp6 IMAGESERVER=imageserver MONITOR_SERVER=imageserver.test HOSTNAME=node001',
      disks: [disk],
      netns: ns,
      tap: { ifname: TAP, mac: MAC },
      marks: { lease: /\(ipv6\) \(dhcp6\)/ },
      until: /reboot: Power down|si-agent shell #|Kernel panic/,
      timeoutMs: 540_000,
    });
    const nft = sh('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'netdev', NFT_TABLE]);
    const why = `serial log:\n${tailOf(r.log, 80)}\n--- dnsmasq ---\n${tailOf(lab!.log('dnsmasq'), 40)}\n--- monitor ---\n${lab!.log('monitor')}\n--- nft ---\n${nft}`;
    expect(r.log, why).toMatch(/reboot: Power down/);
    console.log(`boot over IPv6 only: /init after ${r.initSeconds} s, DHCPv6 lease after ${r.marks.lease} s, powered off after ${r.seconds} s`);

    const client = /network: eth0 (fd42:77:9::1[0-9a-f]{2}) \(ipv6\) \(dhcp6\)/.exec(r.log)?.[1];
    expect(client, why).toBeDefined();
    expect(r.log, why).toContain(`IMAGESERVER imageserver is ${SERVER} (AAAA of imageserver.test from ${SERVER})`);
    expect(r.log, why).toContain(`MONITOR_SERVER imageserver.test is ${SERVER} (AAAA of imageserver.test from ${SERVER})`);
    expect(lab!.log('dnsmasq'), why).toMatch(new RegExp(`DHCPREPLY\\(${TAP}\\) [^\\n]*${client!.replace(/:/g, ':')}`));
    expect(r.log, why).not.toMatch(/DHCP: (ACK|OFFER)/);
    // No IPv4 anywhere: the guest sent no IPv4 or ARP frame; IPv6 it did.
    const count = (proto: string) => Number(new RegExp(`meta protocol ${proto} counter packets (\\d+)`).exec(nft)?.[1] ?? NaN);
    expect(count('ip'), why).toBe(0);
    expect(count('arp'), why).toBe(0);
    expect(count('ip6'), why).toBeGreaterThan(100); // the copy's acknowledgements among them

    const rsyncLog = readFileSync(server.logFile, 'utf8');
    expect(rsyncLog, rsyncLog).toMatch(new RegExp(`rsync on ${server.imageName}/ from \\S+ \\(${client}\\)`));
    expect(rsyncLog, rsyncLog).toContain(`imaging_complete_${client}`);
    // The monitor heard the guest over IPv6, from its leased address only, through to status 100.
    const heard = lab!.log('monitor').split('\n').filter((l) => l !== '' && l !== 'listening');
    expect(heard.some((l) => l.startsWith(`${client} `) && /status=100\b/.test(l)), heard.join('\n')).toBe(true);
    expect(heard.every((l) => l.startsWith(`${client} `)), heard.join('\n')).toBe(true);

    expectFixtureInstalled(reader.mount(disk, d), server);
  }, 600_000);
});
