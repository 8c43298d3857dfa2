// Reliability (root: namespaces, a bridge, loop devices): eight clients install at once from one rsync daemon, each onto
// its own loop disk in its own namespace; every one must complete and match the image. Also installs one client alone
// first and prints both wall times (bench/load.ts reports the ratio; tests never assert on time).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { canRunNetTests } from '../system/lib-net/netns.js';
import { buildExpectedTree, installedTreeDiffs } from '../helpers/expected-tree.js';
import { createRelLab, installIn, withInstalledRoot, type RelLab } from './rel-lab.js';

const enabled = canRunNetTests();
const N = 8;
let rl: RelLab;
let expected = '';

beforeAll(async () => {
  if (!enabled) return;
  rl = await createRelLab('rel-load', '10.111.50', N, 600);
  await rl.startRsyncd();
  expected = buildExpectedTree(rl.server, join(rl.lab.dir, 'expected'));
});

afterAll(async () => {
  await rl?.cleanup();
});

describe.skipIf(!enabled)(`${N} clients installing at once from one rsync daemon`, () => {
  it('all complete and match the image; none fails for load', async () => {
    const t1 = Date.now();
    const alone = await installIn(rl, rl.clients[0]!, 'alone', '');
    expect(alone.code, alone.out).toBe(0);
    const one = (Date.now() - t1) / 1000;
    const t8 = Date.now();
    const runs = await Promise.all(rl.clients.map((c, i) => installIn(rl, c, `load-${i}`, '')));
    const all = (Date.now() - t8) / 1000;
    console.log(`load: 1 client ${one.toFixed(1)} s, ${N} clients at once ${all.toFixed(1)} s`);
    runs.forEach((r, i) => expect(r.code, `client ${i}:\n${r.out}`).toBe(0));
    for (const c of rl.clients) await withInstalledRoot(rl, c, async (root) => expect(await installedTreeDiffs(expected, root), c.ns).toEqual([]));
    // Every client's completion notice reached the server.
    const log = rl.lab.log('rsyncd-0') + (await import('node:fs')).readFileSync(rl.server.logFile, 'utf8');
    for (const c of rl.clients) expect(log).toContain(`imaging_complete_${c.ip}`);
  }, 300_000);
});
