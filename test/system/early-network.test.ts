// System test (root: a network namespace with a veth pair): the network step's use of the bring-up started while the
// local.cfg search ran. Kept when the network parameters came out the same; else stopped, and an address it had
// already set is dropped for real (`ip addr flush` in the namespace). The whole path against dnsmasq, with the search
// finding a LAST_ROOT local.cfg, is in install-dhcp.test.ts; this file pins the case where the lease came first.

import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunner, type Runner } from '../../agent/exec/runner.js';
import type { NetworkResult } from '../../agent/net/configure.js';
import type { Params } from '../../agent/params/types.js';
import { Reporter } from '../../agent/report/events.js';
import { type Ctx, newFlowState } from '../../agent/steps/context.js';
import { changedNetworkParams, takeEarlyNetwork, type EarlyNetwork } from '../../agent/steps/early-network.js';

const isRoot = process.getuid?.() === 0;
const NS = `siearly${process.pid}`;

const params = (o: Record<string, string>): Params => new Map(Object.entries(o).map(([k, v]) => [k, { value: v, source: 'cmdline' }]));
const inet = () => execFileSync('ip', ['-n', NS, '-4', '-o', 'addr', 'show', 'dev', 'd0'], { encoding: 'utf8' }).match(/inet \S+/g) ?? [];

/** The project's runner, each command run inside the test's namespace. */
function runnerInNs(report: Reporter): Runner {
  const real = createRunner(report);
  return (tool, args, opts) => real('ip', ['netns', 'exec', NS, tool, ...args], opts);
}

function ctxWith(p: Params): { ctx: Ctx; log: string[] } {
  const report = new Reporter();
  const log: string[] = [];
  report.addSink((e) => {
    if ('message' in e) log.push(String(e.message));
  });
  const ctx: Ctx = {
    opts: { mode: 'init', cmdlineText: '', localCfgFiles: null, disks: [], sysroot: '/nonexistent', workdir: '/tmp', network: true, performPostAction: false, rsyncPort: 873 },
    run: runnerInNs(report), report, signal: new AbortController().signal, params: p, state: newFlowState(),
  };
  return { ctx, log };
}

const lease: NetworkResult = { mode: 'dhcp', iface: 'd0', ip: '10.9.9.5', dhcp: [] };
const early = (p: Params): EarlyNetwork => ({ params: p, result: Promise.resolve(lease), abort: new AbortController() });

describe('network parameters that decide the bring-up', () => {
  it('names what changed, by value, not by source', () => {
    const a = params({ DEVICE: 'eth0', HOSTNAME: 'n1' });
    const b: Params = new Map([['DEVICE', { value: 'eth0', source: 'local.cfg:x:1' }], ['HOSTNAME', { value: 'n2', source: 'cmdline' }], ['IMAGESERVER', { value: '10.0.0.1', source: 'cmdline' }]]);
    expect(changedNetworkParams(a, b)).toEqual(['HOSTNAME']);
    expect(changedNetworkParams(a, new Map(a))).toEqual([]);
  });
});

describe.skipIf(!isRoot)('the early bring-up in the network step (root, namespace)', () => {
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['-n', NS, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']);
    execFileSync('ip', ['-n', NS, 'link', 'set', 'd0', 'up']);
  });
  afterAll(() => {
    execFileSync('ip', ['netns', 'del', NS]);
  });

  it('the same parameters: its lease is taken as it is, the address stays', async () => {
    execFileSync('ip', ['-n', NS, 'addr', 'replace', '10.9.9.5/24', 'dev', 'd0']);
    const p = params({ HOSTNAME: 'n1' });
    const { ctx } = ctxWith(new Map(p));
    const e = early(p);
    await expect(takeEarlyNetwork(ctx, e)).resolves.toEqual(lease);
    expect(e.abort.signal.aborted).toBe(false);
    expect(inet()).toEqual(['inet 10.9.9.5/24']);
  });

  it('a static address from local.cfg after the lease came: the bring-up is called off and its address dropped', async () => {
    execFileSync('ip', ['-n', NS, 'addr', 'replace', '10.9.9.5/24', 'dev', 'd0']);
    const { ctx, log } = ctxWith(params({ HOSTNAME: 'n1', IPADDR: '10.9.9.7' }));
    const e = early(params({ HOSTNAME: 'n1' }));
    await expect(takeEarlyNetwork(ctx, e)).resolves.toBeUndefined();
    expect(e.abort.signal.aborted).toBe(true);
    expect(log.join('\n')).toMatch(/local\.cfg changed IPADDR: the network brought up before it was read is brought up again/);
    expect(inet()).toEqual([]);
  });

  it('an early bring-up that failed is no error of its own when the parameters changed', async () => {
    const { ctx } = ctxWith(params({ DEVICE: 'd0' }));
    const failed = Promise.reject(new Error('DHCP timed out'));
    failed.catch(() => undefined);
    await expect(takeEarlyNetwork(ctx, { params: params({}), result: failed, abort: new AbortController() })).resolves.toBeUndefined();
  });
});
