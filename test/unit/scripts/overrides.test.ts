import { describe, expect, it } from 'vitest';
import { SiError } from '../../../agent/errors.js';
import { clusterInfoFor, parseClusterTxt } from '../../../agent/plan/cluster.js';
import { resolveOverrides, type OverrideOpts } from '../../../agent/plan/overrides.js';
import { readFixture } from './fixture.js';

const base: OverrideOpts = { scriptName: 'SuSE10', groupOverrides: ['Storage', 'SuSE10', 'SuSE10_frontend'], globalOverrides: ['all'], hostname: 'node001' };

describe('resolveOverrides', () => {
  it.each<[string, OverrideOpts, string[]]>([
    ['default: script, global, group, host', { ...base, groupOverrides: ['Storage', 'SuSE10_frontend'] }, ['SuSE10', 'all', 'Storage', 'SuSE10_frontend', 'node001']],
    ['a name twice is applied once, at its later place', base, ['all', 'Storage', 'SuSE10', 'SuSE10_frontend', 'node001']],
    ['no cluster.txt, no host', { scriptName: 'rhel9', groupOverrides: [], globalOverrides: [] }, ['rhel9']],
    ['script OVERRIDES as written (string)', { ...base, scriptOverrides: '  my_image-ide   web_app ' }, ['my_image-ide', 'web_app']],
    ['script OVERRIDES as written (array)', { ...base, scriptOverrides: ['a b', 'c', 'a'] }, ['b', 'c', 'a']],
    ['script OVERRIDES empty: none at all', { ...base, scriptOverrides: '' }, []],
  ])('%s', (_what, opts, want) => expect(resolveOverrides(opts)).toEqual(want));

  it('follows the manual cluster example for node001: global < group < node', () => {
    const info = clusterInfoFor(parseClusterTxt(readFixture('cluster/manual-example.txt'), 'c'), 'node001');
    const got = resolveOverrides({ scriptName: 'node001', ...info, hostname: 'node001' });
    // the manual: SuSE10_frontend beats SuSE10 beats Storage; all is the least important; the node wins.
    expect(got).toEqual(['all', 'Storage', 'SuSE10', 'SuSE10_frontend', 'node001']);
  });

  it.each<[string, OverrideOpts, string]>([
    ['from the script', { ...base, scriptOverrides: 'ok ../../etc' }, 'override "../../etc" (from OVERRIDES of script SuSE10)'],
    ['from the host name', { ...base, hostname: '$(reboot)' }, 'override "$(reboot)" (from HOSTNAME)'],
    ['from cluster.txt', { ...base, groupOverrides: ['-rf'] }, 'override "-rf" (from the group overrides of cluster.txt)'],
  ])('refuses an unsafe name %s', (_what, opts, msg) => {
    let err: unknown;
    try {
      resolveOverrides(opts);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SiError);
    expect((err as SiError).code).toBe('E_PARAM');
    expect((err as SiError).message).toContain(msg);
  });
});
