// System test (root): the whole install with every parameter from DHCP — the agent in a client network namespace,
// dnsmasq (option 140 = the image server) and the rsync daemon in a server namespace, a loop device as the disk.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeImageServer, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { canRunNetTests, createLab, type Lab, waitFor } from './lib-net/netns.js';
import { startDnsmasq } from './lib-net/servers.js';
import { attachLoop, detachLoops, type Loop } from './lib/loops.js';
import { AGENT } from './lib/agent.js';

const enabled = canRunNetTests();
const NET = '10.213.40';
let lab: Lab;
let server: ImageServerInfo;
let loop: Loop | undefined;
let lastRoot: Loop | undefined;
let c = '';

/** Puts local.cfg with this text at the root of the LAST_ROOT loop's ext4 (made fresh each time). */
function writeLastRootCfg(text: string): void {
  execFileSync('mkfs.ext4', ['-q', '-F', lastRoot!.dev]);
  const mnt = join(lab.dir, 'lastroot-mnt');
  mkdirSync(mnt, { recursive: true });
  execFileSync('mount', [lastRoot!.dev, mnt]);
  try {
    writeFileSync(join(mnt, 'local.cfg'), text);
  } finally {
    execFileSync('umount', [mnt]);
  }
}

/** `plan --json --network` in the client namespace with the SPEC 2 search (LAST_ROOT): its parameters and log. */
function planWithLastRoot(name: string): { params: Record<string, { value: string; source: string }>; log: string } {
  const work = join(lab.dir, name);
  mkdirSync(work);
  const log = join(work, 'plan.log');
  const r = execFileSync('ip', ['netns', 'exec', c, process.execPath, AGENT, 'plan', '--json', '--network', '--disk', loop!.dev, '--cmdline', `LAST_ROOT=${lastRoot!.dev}`,
    '--workdir', join(work, 'w'), '--log', log], { encoding: 'utf8', env: { ...process.env, SI_TMP: work, SI_RESOLV_CONF: join(work, 'resolv.conf') }, timeout: 120_000 });
  return { params: (JSON.parse(r) as { parameters: Record<string, { value: string; source: string }> }).parameters, log: readFileSync(log, 'utf8') };
}

const acks = () => (lab.log('dnsmasq').match(/DHCPACK/g) ?? []).length;
/** dnsmasq's log once nothing more has come for half a second (its lines reach the file a moment after it answers). */
async function settledAcks(): Promise<number> {
  let last = '';
  for (let i = 0; i < 20 && lab.log('dnsmasq') !== last; i++) {
    last = lab.log('dnsmasq');
    await new Promise((r) => setTimeout(r, 500));
  }
  return acks();
}
const addresses = () => execFileSync('ip', ['-n', c, '-4', '-o', 'addr', 'show', 'dev', 'vc0'], { encoding: 'utf8' }).split('\n').map((l) => /inet (\S+)/.exec(l)?.[1]).filter(Boolean);

beforeAll(async () => {
  if (!enabled) return;
  lab = createLab('install-dhcp');
  server = await makeImageServer(join(lab.dir, 'server'));
  // Leases come from .100-.150: every one of them is node001 in the server's hosts file.
  const hosts = Array.from({ length: 51 }, (_, i) => `${NET}.${100 + i} node001.cluster node001`).join('\n');
  execFileSync('sh', ['-c', 'cat >> "$1"', 'sh', join(server.scriptsDir, 'hosts')], { input: `${hosts}\n` });
  const s = lab.ns('is');
  c = lab.ns('ic');
  lab.veth({ ns: c, name: 'vc0' }, { ns: s, name: 'vs0', cidr: `${NET}.1/24` });
  // No option 143: a portbase from DHCP means a multicast install (dhcp-dnsmasq.test.ts checks how 143 is read).
  await startDnsmasq(lab, s, 'dnsmasq', 'vs0', { net: NET }, [`140,${NET}.1`, '141,5514', '144,no']);
  lab.daemon(s, 'rsyncd', ['rsync', '--daemon', '--no-detach', `--config=${server.rsyncdConf}`, '--port=873', `--address=${NET}.1`]);
  const logSays = (re: RegExp) => existsSync(server.logFile) && re.test(readFileSync(server.logFile, 'utf8'));
  await waitFor(() => logSays(/rsyncd version .* starting/), 10_000, `rsyncd in the server namespace: ${lab.log('rsyncd')}`);
  loop = attachLoop(lab.dir, 'disk', 1024);
  lastRoot = attachLoop(lab.dir, 'lastroot', 64);
});

afterAll(async () => {
  detachLoops([loop, lastRoot].filter((l): l is Loop => l !== undefined));
  await lab?.cleanup();
});

describe.skipIf(!enabled)('install with parameters from DHCP', () => {
  it('plan shows each value with its source: DHCP, overridden by local.cfg, then by the command line', async () => {
    const cfg = join(lab.dir, 'local.cfg');
    writeFileSync(cfg, 'TMPFS_STAGING=yes\nLOG_SERVER_PORT=7514\n');
    const r = execFileSync('ip', ['netns', 'exec', c, process.execPath, AGENT, 'plan', '--json', '--network', '--disk', loop!.dev, '--cmdline', 'LOG_SERVER_PORT=8514', '--local-cfg', cfg,
      '--workdir', join(lab.dir, 'plan'), '--log', join(lab.dir, 'plan.log')], { encoding: 'utf8', env: { ...process.env, SI_TMP: lab.dir, SI_RESOLV_CONF: join(lab.dir, 'resolv.conf') }, timeout: 120_000 });
    const params = (JSON.parse(r) as { parameters: Record<string, { value: string; source: string }> }).parameters;
    expect(params.IMAGESERVER).toEqual({ value: `${NET}.1`, source: 'dhcp' });
    expect(params.NETMASK).toEqual({ value: '255.255.255.0', source: 'dhcp' });
    expect(params.TMPFS_STAGING).toEqual({ value: 'yes', source: `local.cfg:${cfg}:1` });
    expect(params.LOG_SERVER_PORT).toEqual({ value: '8514', source: 'cmdline' });
    expect(params.DEVICE).toMatchObject({ value: 'vc0' });
    expect(params.IPADDR!.value).toMatch(/^10\.213\.40\.1\d\d$/);
  });

  it('gets IMAGESERVER from dnsmasq option 140 and installs from the server namespace', async () => {
    const work = join(lab.dir, 'client');
    mkdirSync(work);
    const events = join(work, 'events.jsonl');
    let out = '';
    let code = 0;
    try {
      out = execFileSync('ip', ['netns', 'exec', c, process.execPath, AGENT, 'install', '--network', '--cmdline', 'POST_ACTION=shutdown', '--local-cfg', '/dev/null',
        '--disk', loop!.dev, '--sysroot', join(work, 'sysroot'), '--workdir', join(work, 'w'), '--events', events, '--log', join(work, 'si.log')],
      { encoding: 'utf8', env: { ...process.env, SI_TMP: work, SI_RESOLV_CONF: join(work, 'resolv.conf') }, timeout: 240_000 });
    } catch (err) {
      code = (err as { status: number }).status;
      out = String((err as { stdout: string }).stdout);
    }
    expect(code, out).toBe(0);
    const plan = readFileSync(events, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; message?: string });
    expect(plan.some((e) => e.type === 'log' && /network: vc0 10\.213\.40\.\d+ \(dhcp\)/.test(e.message ?? ''))).toBe(true);
    // The image went over the veth from the server namespace: the rsync daemon logged the client's leased address.
    expect(readFileSync(server.logFile, 'utf8')).toMatch(new RegExp(`${NET.replace(/\./g, '\\.')}\\.1\\d\\d`));
    expect(readFileSync(server.logFile, 'utf8')).toMatch(/imaging_complete_10\.213\.40\.1\d\d/);
    const mnt = join(work, 'check');
    mkdirSync(mnt);
    execFileSync('mount', ['-o', 'ro', `${loop!.dev}p2`, mnt]);
    try {
      expect(readFileSync(join(mnt, 'etc/systemimager/IMAGE_LAST_SYNCED_TO'), 'utf8').trim()).toBe(server.imageName);
      expect(readFileSync(join(mnt, 'etc/shared-gc'), 'utf8')).toBe('compute\n');
      expect(existsSync(join(mnt, 'root/post-install-ran'))).toBe(true);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  // The network comes up while the local.cfg search runs (agent/steps/early-network.ts); it is kept only when what the
  // search found leaves the network parameters as they were.
  it('a local.cfg found by the search that leaves the network alone: the DHCP lease taken meanwhile is kept (one exchange)', async () => {
    writeLastRootCfg('TMPFS_STAGING=yes\n');
    execFileSync('ip', ['-n', c, 'addr', 'flush', 'dev', 'vc0']);
    const before = await settledAcks();
    const { params, log } = planWithLastRoot('early-kept');
    expect(params.TMPFS_STAGING).toEqual({ value: 'yes', source: `local.cfg:LAST_ROOT:${lastRoot!.dev}:1` });
    expect(params.IPADDR).toMatchObject({ source: 'dhcp' });
    expect(log).not.toMatch(/brought up again/);
    expect((await settledAcks()) - before).toBe(1);
    expect(addresses()).toEqual([`${params.IPADDR!.value}/24`]);
  });

  it('a local.cfg found by the search that sets a static address: the early DHCP address is dropped, the static one is set', async () => {
    writeLastRootCfg('IPADDR=10.213.40.77\nNETMASK=255.255.255.0\nIMAGESERVER=10.213.40.1\nHOSTNAME=node001\n');
    execFileSync('ip', ['-n', c, 'addr', 'flush', 'dev', 'vc0']);
    const { params, log } = planWithLastRoot('early-dropped');
    expect(params.IPADDR).toEqual({ value: '10.213.40.77', source: `local.cfg:LAST_ROOT:${lastRoot!.dev}:1` });
    expect(log).toMatch(/local\.cfg changed IPADDR, NETMASK, HOSTNAME: the network brought up before it was read is brought up again/);
    expect(log).toMatch(/static network: 10\.213\.40\.77\/24 on vc0/);
    expect(addresses()).toEqual(['10.213.40.77/24']);
  });
});
