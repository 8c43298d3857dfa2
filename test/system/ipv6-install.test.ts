// System test (root): an install over IPv6 only. The client namespace has no IPv4 address at all (IPV4_ASSIGNMENT=off,
// IPV6_ASSIGNMENT=dhcp6); dnsmasq in the server namespace sends router advertisements, leases by DHCPv6 and answers
// AAAA queries for imageserver.test; the rsync daemon and a monitor listen on IPv6 only; a loop device is the disk.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { canRunNetTests, createLab, ip, type Lab, waitFor } from './lib-net/netns.js';
import { startDnsmasq6 } from './lib-net/servers.js';
import { attachLoop, detachLoops, type Loop } from './lib/loops.js';
import { AGENT } from './lib/agent.js';

const enabled = canRunNetTests();
const PREFIX = 'fd42:77:8';
const SERVER = `${PREFIX}::1`;
let lab: Lab;
let server: ImageServerInfo;
let loop: Loop | undefined;
let c = '';

// The monitor daemon's stand-in: one line per message with the peer's address, on [SERVER]:8181.
const MONITOR = `require('net').createServer((s) => { let b = ''; s.on('data', (d) => (b += d)); s.on('end', () => b.split('\\n').filter(Boolean).forEach((l) => console.log(s.remoteAddress + ' ' + l))); s.on('error', () => {}); }).listen(8181, process.argv[1], () => console.log('listening'));`;

beforeAll(async () => {
  if (!enabled) return;
  lab = createLab('ipv6-install');
  server = await makeImageServer(join(lab.dir, 'server'));
  const s = lab.ns('vs');
  c = lab.ns('vc');
  lab.veth({ ns: c, name: 'vc0' }, { ns: s, name: 'vs0' });
  ip('-n', s, '-6', 'addr', 'add', `${SERVER}/64`, 'dev', 'vs0', 'nodad');
  await startDnsmasq6(lab, s, 'dnsmasq', 'vs0', { prefix: PREFIX, mode: 'dhcp6', hosts: { 'imageserver.test': SERVER }, domain: 'test' });
  lab.daemon(s, 'rsyncd', ['rsync', '--daemon', '--no-detach', `--config=${server.rsyncdConf}`, '--port=873', `--address=${SERVER}`, '--ipv6']);
  lab.daemon(s, 'monitor', [process.execPath, '-e', MONITOR, SERVER]);
  const logSays = (re: RegExp) => existsSync(server.logFile) && re.test(readFileSync(server.logFile, 'utf8'));
  await waitFor(() => logSays(/rsyncd version .* starting/), 10_000, `rsyncd in the server namespace: ${lab.log('rsyncd')}`);
  await waitFor(() => /listening/.test(lab.log('monitor')), 10_000, `the monitor: ${lab.log('monitor')}`);
  loop = attachLoop(lab.dir, 'disk', 1024);
});

afterAll(async () => {
  detachLoops([loop].filter((l): l is Loop => l !== undefined));
  await lab?.cleanup();
});

describe.skipIf(!enabled)('install over IPv6 only', () => {
  it('DHCPv6 address, image server and monitor by name through the DHCPv6 DNS server, rsync over [addr], imaging_complete with the IPv6 address', async () => {
    const work = join(lab.dir, 'client');
    mkdirSync(work);
    const events = join(work, 'events.jsonl');
    let out = '';
    let code = 0;
    try {
      out = execFileSync('ip', ['netns', 'exec', c, process.execPath, AGENT, 'install', '--network', '--cmdline',
        'IPV4_ASSIGNMENT=off si.ipv6=dhcp6 IMAGESERVER=imageserver MONITOR_SERVER=imageserver.test HOSTNAME=node001 POST_ACTION=shutdown', '--local-cfg', '/dev/null',
        '--disk', loop!.dev, '--sysroot', join(work, 'sysroot'), '--workdir', join(work, 'w'), '--events', events, '--log', join(work, 'si.log')],
      { encoding: 'utf8', env: { ...process.env, SI_TMP: work, SI_RESOLV_CONF: join(work, 'resolv.conf') }, timeout: 240_000 });
    } catch (err) {
      code = (err as { status: number }).status;
      out = String((err as { stdout: string }).stdout) + String((err as { stderr: string }).stderr);
    }
    const log = existsSync(join(work, 'si.log')) ? readFileSync(join(work, 'si.log'), 'utf8') : '';
    expect(code, out + log).toBe(0);
    const msgs = readFileSync(events, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; message?: string }).filter((e) => e.type === 'log').map((e) => e.message ?? '');
    const client = /network: vc0 (fd42:77:8::1[0-9a-f]{2}) \(ipv6\) \(dhcp6\)/.exec(msgs.join('\n'))?.[1];
    expect(client, msgs.join('\n')).toBeDefined();
    expect(msgs).toContain(`IMAGESERVER imageserver is ${SERVER} (AAAA of imageserver.test from ${SERVER})`);
    expect(msgs).toContain(`MONITOR_SERVER imageserver.test is ${SERVER} (AAAA of imageserver.test from ${SERVER})`);
    // No IPv4 address anywhere in the client namespace.
    expect(ip('-n', c, '-4', '-o', 'addr', 'show').split('\n').filter((l) => / inet /.test(l) && !/ lo /.test(l))).toEqual([]);
    const rsyncLog = readFileSync(server.logFile, 'utf8');
    expect(rsyncLog).toContain(client!);
    expect(rsyncLog).toMatch(new RegExp(`imaging_complete_${client!.replace(/\./g, '\\.')}`));
    // The monitor heard the client over IPv6, from its leased address, through the install to the end.
    await waitFor(() => /status=100\b/.test(lab.log('monitor')), 5000, `the monitor hearing status 100: ${lab.log('monitor')}`).catch(() => undefined);
    const heard = lab.log('monitor').split('\n').filter((l) => l !== '' && l !== 'listening');
    expect(heard.some((l) => l.startsWith(`${client} `) && /status=100\b/.test(l)), heard.join('\n')).toBe(true);
    expect(heard.every((l) => l.startsWith(`${client} `))).toBe(true);
    const mnt = join(work, 'check');
    mkdirSync(mnt);
    execFileSync('mount', ['-o', 'ro', `${loop!.dev}p2`, mnt]);
    try {
      expect(readFileSync(join(mnt, 'etc/systemimager/IMAGE_LAST_SYNCED_TO'), 'utf8').trim()).toBe(server.imageName);
      expect(existsSync(join(mnt, 'root/post-install-ran'))).toBe(true);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});
