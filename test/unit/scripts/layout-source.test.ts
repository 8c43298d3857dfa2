import { describe, expect, it } from 'vitest';
import { chooseLayoutFile, layoutCandidates, type LayoutChoiceOpts } from '../../../agent/plan/layout-source.js';

const node001: LayoutChoiceOpts = { hostname: 'node001', groups: ['Login', 'Storage'], baseHostname: 'node', imageName: 'SuSE10' };

describe('layoutCandidates', () => {
  it.each<[string, LayoutChoiceOpts, string[]]>([
    ['full order, default last', node001, ['node001', 'Login', 'Storage', 'node', 'SuSE10', 'default']],
    ['nothing known: default only', { groups: [] }, ['default']],
    ['duplicates once', { hostname: 'default', groups: ['default'] }, ['default']],
    ['unsafe skipped', { hostname: '../../etc/passwd', groups: ['g'], imageName: '$(x)' }, ['g', 'default']],
  ])('%s', (_what, opts, names) => {
    expect(layoutCandidates(opts)).toEqual(names.map((n) => `disks-layouts/${n}.xml`));
  });
});

describe('chooseLayoutFile', () => {
  it.each<[string[], string | undefined]>([
    [['disks-layouts/default.xml', 'disks-layouts/Storage.xml'], 'disks-layouts/Storage.xml'],
    [['disks-layouts/SuSE10.xml', 'disks-layouts/node.xml'], 'disks-layouts/node.xml'],
    [['disks-layouts/default.xml'], 'disks-layouts/default.xml'],
    [['disks-layouts/other.xml'], undefined],
  ])('%j -> %s', (present, want) => {
    expect(chooseLayoutFile(node001, (p) => present.includes(p))).toBe(want);
  });
});
