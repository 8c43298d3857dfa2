// System test (root): IPv6 only with no IMAGESERVER. dnsmasq (router advertisements, DHCPv6) in a server namespace;
// the agent takes the image server from the host of the DHCPv6 boot-file URL (option 59, RFC 5970), or, without one,
// from the DHCPv6 server's own address, and says which in the log. One full install onto a loop device with the image
// server found through option 59.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { bundleEntry, canRunNetTests, createLab, ip, logText, runInNs, waitFor, type Lab } from './lib-net/netns.js';
import { startDnsmasq6 } from './lib-net/servers.js';
import { attachLoop, detachLoops, type Loop } from './lib/loops.js';
import { AGENT } from './lib/agent.js';

const enabled = canRunNetTests();
let lab: Lab;
let entry = '';
let loop: Loop | undefined;

beforeAll(async () => {
  if (!enabled) return;
  lab = createLab('ipv6-boot');
  entry = await bundleEntry('./ipv6-entry.ts', lab.dir);
});
afterAll(async () => {
  detachLoops([loop].filter((l): l is Loop => l !== undefined));
  await lab?.cleanup();
});

function pair(tag: string, prefix: string): { c: string; s: string } {
  const s = lab.ns(`${tag}s`);
  const c = lab.ns(`${tag}c`);
  lab.veth({ ns: c, name: 'vc0' }, { ns: s, name: 'vs0' });
  ip('-n', s, '-6', 'addr', 'add', `${prefix}::1/64`, 'dev', 'vs0', 'nodad');
  return { c, s };
}

const DHCP6 = { IPV4_ASSIGNMENT: 'off', IPV6_ASSIGNMENT: 'dhcp6' };

describe.skipIf(!enabled)('IPv6 only, no IMAGESERVER: where the agent looks', () => {
  it('the host of the boot-file URL (option 59), a name kept for the resolver', async () => {
    const prefix = 'fd42:77:a';
    const { c, s } = pair('u', prefix);
    await startDnsmasq6(lab, s, 'dnsmasq-u', 'vs0', { prefix, mode: 'dhcp6', extra: ['--dhcp-option=option6:bootfile-url,http://imageserver.test/boot/x86_64/standard/ipxe.efi'] });
    const run = await runInNs(c, entry, { params: DHCP6, resolvConf: join(lab.dir, 'resolv-u.conf') });
    expect(run.error, logText(run) + run.stderr).toBeUndefined();
    expect(run.result!.dhcp).toEqual(expect.arrayContaining([{ name: 'IMAGESERVER', value: 'imageserver.test', source: 'dhcp', option: 'dhcp6 59' }]));
    expect(logText(run)).toContain('info: IMAGESERVER is not set: using imageserver.test, the host of the DHCPv6 boot-file URL http://imageserver.test/boot/x86_64/standard/ipxe.efi');
  });

  it('no boot-file URL: the DHCPv6 server it answered from (link-local, with the link as zone), reachable', async () => {
    const prefix = 'fd42:77:b';
    const { c, s } = pair('v', prefix);
    await startDnsmasq6(lab, s, 'dnsmasq-v', 'vs0', { prefix, mode: 'dhcp6' });
    const serverLl = /inet6 (fe80::\S+)\/64/.exec(ip('-n', s, '-6', 'addr', 'show', 'dev', 'vs0', 'scope', 'link'))![1]!;
    const run = await runInNs(c, entry, { params: DHCP6, resolvConf: join(lab.dir, 'resolv-v.conf'), ping: `${serverLl}%vc0` });
    expect(run.error, logText(run) + run.stderr).toBeUndefined();
    expect(run.result!.dhcp).toEqual(expect.arrayContaining([{ name: 'IMAGESERVER', value: `${serverLl}%vc0`, source: 'dhcp', option: 'dhcp6 server' }]));
    expect(logText(run)).toContain(`info: IMAGESERVER is not set: using ${serverLl}%vc0, the DHCPv6 server that leased the address (no boot-file URL, option 59, in its answer)`);
    expect(run.result!.pinged).toBe(true);
  });

  it('IMAGESERVER given: DHCPv6 does not set it', async () => {
    const prefix = 'fd42:77:c';
    const { c, s } = pair('w', prefix);
    await startDnsmasq6(lab, s, 'dnsmasq-w', 'vs0', { prefix, mode: 'dhcp6', extra: [`--dhcp-option=option6:bootfile-url,tftp://[${prefix}::99]/pxelinux.0`] });
    const run = await runInNs(c, entry, { params: { ...DHCP6, IMAGESERVER: `${prefix}::1` }, resolvConf: join(lab.dir, 'resolv-w.conf') });
    expect(run.error, logText(run) + run.stderr).toBeUndefined();
    expect((run.result!.dhcp as Array<{ name: string }>).some((a) => a.name === 'IMAGESERVER')).toBe(false);
    expect(logText(run)).not.toMatch(/IMAGESERVER is not set/);
  });
});

describe.skipIf(!enabled)('install over IPv6 only with the image server from option 59', () => {
  let server: ImageServerInfo;
  const prefix = 'fd42:77:d';
  const SERVER = `${prefix}::1`;
  let c = '';
  beforeAll(async () => {
    server = await makeImageServer(join(lab.dir, 'server'));
    const p = pair('i', prefix);
    c = p.c;
    await startDnsmasq6(lab, p.s, 'dnsmasq-i', 'vs0', { prefix, mode: 'dhcp6', extra: [`--dhcp-option=option6:bootfile-url,tftp://[${SERVER}]/pxelinux.0`] });
    lab.daemon(p.s, 'rsyncd', ['rsync', '--daemon', '--no-detach', `--config=${server.rsyncdConf}`, '--port=873', `--address=${SERVER}`, '--ipv6']);
    await waitFor(() => existsSync(server.logFile) && /rsyncd version .* starting/.test(readFileSync(server.logFile, 'utf8')), 10_000, `rsyncd: ${lab.log('rsyncd')}`);
    loop = attachLoop(lab.dir, 'disk', 1024);
  });

  it('installs with no IMAGESERVER anywhere: rsync from the boot-file URL host, imaging_complete with the IPv6 address', async () => {
    const work = join(lab.dir, 'client');
    mkdirSync(work);
    let out = '';
    let code = 0;
    try {
      out = execFileSync('ip', ['netns', 'exec', c, process.execPath, AGENT, 'install', '--network', '--cmdline', 'IPV4_ASSIGNMENT=off si.ipv6=dhcp6 HOSTNAME=node001 POST_ACTION=shutdown', '--local-cfg', '/dev/null',
        '--disk', loop!.dev, '--sysroot', join(work, 'sysroot'), '--workdir', join(work, 'w'), '--events', join(work, 'events.jsonl'), '--log', join(work, 'si.log')],
      { encoding: 'utf8', env: { ...process.env, SI_TMP: work, SI_RESOLV_CONF: join(work, 'resolv.conf') }, timeout: 240_000 });
    } catch (err) {
      code = (err as { status: number }).status;
      out = String((err as { stdout: string }).stdout) + String((err as { stderr: string }).stderr);
    }
    const log = existsSync(join(work, 'si.log')) ? readFileSync(join(work, 'si.log'), 'utf8') : '';
    expect(code, out + log).toBe(0);
    expect(log).toContain(`IMAGESERVER is not set: using ${SERVER}, the host of the DHCPv6 boot-file URL tftp://[${SERVER}]/pxelinux.0`);
    const client = new RegExp(`network: vc0 (${prefix}::1[0-9a-f]{2}) \\(ipv6\\)`).exec(log)?.[1];
    expect(client, log).toBeDefined();
    const rsyncLog = readFileSync(server.logFile, 'utf8');
    expect(rsyncLog).toMatch(new RegExp(`imaging_complete_${client!}`));
  });
});
