// The installed system's network files read by the real tools: ifupdown's ifquery, netplan's generate, NetworkManager's
// nmcli --offline (all unpacked by fixtures/net-config-tools.sh), and systemd-networkd itself in a private network and
// mount namespace (root), every warning it prints about our files a failure.

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRunner } from '../../agent/exec/runner.js';
import type { FileChange } from '../../agent/target/file-changes.js';
import { CASES, plan } from '../unit/target/stack-cases.js';

const TOOLS = process.env.SI_NET_TOOLS ?? '/var/cache/si-agent/net-config-tools';
const LIBS = `${TOOLS}/usr/lib/x86_64-linux-gnu`;
const hasTools = existsSync(`${TOOLS}/sbin/ifquery`) && existsSync(`${TOOLS}/usr/bin/nmcli`) && existsSync(`${TOOLS}/usr/libexec/netplan/generate`);
const NETWORKD = ['/usr/lib/systemd/systemd-networkd', '/lib/systemd/systemd-networkd'].find((p) => existsSync(p));
const isRoot = process.getuid?.() === 0;
const run = createRunner(null);
const env = { ...process.env, LD_LIBRARY_PATH: LIBS };
const dir = mkdtempSync(join(tmpdir(), 'si-net-tools-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const writes = (changes: readonly FileChange[], under: string) => changes.flatMap((c) => (c.kind === 'write' && c.path.startsWith(under) ? [c] : []));
const cases = Object.entries(CASES);

describe.skipIf(!hasTools)('real parsers on the rendered files', () => {
  it.each(cases)('%s: ifquery reads every install link of /etc/network/interfaces', async (name, values) => {
    const [file] = writes(plan(values, 'ifupdown').changes, '/etc/network/interfaces');
    const path = join(dir, `${name}.interfaces`);
    writeFileSync(path, file!.content.replace(/^source .*$/m, ''));
    const list = await run(`${TOOLS}/sbin/ifquery`, ['-i', path, '--list', '--allow', 'auto'], { env });
    const links = list.stdout.trim().split('\n').filter((l) => l !== 'lo');
    expect(links.length).toBeGreaterThan(0);
    for (const l of links) {
      const q = await run(`${TOOLS}/sbin/ifquery`, ['-i', path, l], { env });
      expect(q.stderr).toBe('');
      if (/bond0$/.test(l)) expect(q.stdout).toMatch(/^bond-slaves: enp1s0 enp2s0$/m);
      if (/\.42$/.test(l)) expect(q.stdout).toMatch(/^vlan-raw-device: (bond0|enp2s0)$/m);
      if (values.MTU) expect(q.stdout).toContain('mtu: 9000');
    }
  });

  it.each(cases)('%s: netplan generate accepts the YAML and makes the bond, VLAN and addresses', async (name, values) => {
    const root = join(dir, `netplan-${name}`);
    mkdirSync(join(root, 'etc/netplan'), { recursive: true });
    const [file] = writes(plan(values, 'netplan').changes, '/etc/netplan/');
    writeFileSync(join(root, 'etc/netplan/50-systemimager.yaml'), file!.content, { mode: 0o600 });
    const r = await run(`${TOOLS}/usr/libexec/netplan/generate`, ['--root-dir', root], { env, allowFail: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = await run('sh', ['-c', 'cat "$1"/run/systemd/network/*', 'sh', root]);
    if (values.BOND_SLAVES) expect(out.stdout).toMatch(/^Bond=bond0$/m);
    if (values.VLAN_ID) expect(out.stdout).toMatch(/^VLAN=(bond0|enp2s0)\.42$/m);
    if (values.MTU) expect(out.stdout).toMatch(/^MTUBytes=9000$/m);
    if (values.IPV6ADDR) expect(out.stdout).toContain('Address=fd42:77::10/64');
  });

  it.each(cases)('%s: nmcli --offline takes every keyfile and keeps every key we wrote', async (name, values) => {
    for (const f of writes(plan(values, 'networkmanager').changes, '/etc/NetworkManager/')) {
      const id = /^id=(.+)$/m.exec(f.content)![1]!;
      const r = await run(`${TOOLS}/usr/bin/nmcli`, ['--offline', 'connection', 'modify', 'connection.id', id], { env, input: f.content, allowFail: true });
      expect(r.stderr, `${name} ${f.path}`).toBe('');
      expect(r.code).toBe(0);
      // A misspelt key is dropped silently by the keyfile reader: each of ours must come back, in its section.
      const sections = (text: string) => new Map(text.split(/^(?=\[)/m).map((s) => [s.split('\n')[0]!, new Set(s.split('\n').slice(1).filter((l) => /^[a-z0-9-]+=/.test(l)))]));
      const got = sections(r.stdout);
      for (const [section, keys] of sections(f.content.replace(/^#.*\n/, ''))) {
        for (const k of keys) {
          const norm = k.replace(/^(master|slave-type)=/, (m) => (m === 'master=' ? 'controller=' : 'port-type='));
          const back = got.get(section);
          // NetworkManager's defaults are not written back.
          if (k === 'autoconnect=true') expect(back?.has('autoconnect=false')).toBe(false);
          else expect(back?.has(k) || back?.has(norm), `${f.path}: ${section} ${k}`).toBe(true);
        }
      }
    }
  });
});

describe.skipIf(!isRoot || !NETWORKD)('systemd-networkd reads the .netdev and .network files', () => {
  it.each(cases)('%s: no warning about our files', async (name, values) => {
    const net = join(dir, `networkd-${name}`);
    mkdirSync(net, { recursive: true });
    for (const f of writes(plan(values, 'networkd').changes, '/etc/systemd/network/')) writeFileSync(join(net, f.path.split('/').pop()!), f.content);
    // Its own network and mount namespaces: the links it makes and the bind mount go with it when timeout ends it.
    const script = 'mount -t tmpfs tmpfs /run/systemd && mkdir -p /run/systemd/network && mount --bind "$1" /etc/systemd/network && exec "$2"';
    const r = await run('timeout', ['3', 'unshare', '--net', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', net, NETWORKD!], {
      env: { ...process.env, SYSTEMD_LOG_LEVEL: 'debug', SYSTEMD_LOG_TARGET: 'console' },
      allowFail: true,
      timeout: 20_000,
    });
    const ours = (r.stdout + r.stderr).split('\n').filter((l) => l.startsWith('/etc/systemd/network/'));
    expect(ours).toEqual([]);
    expect(r.stderr).toMatch(/Creating|Link .* added|lo: Saved new link/);
  });
});
