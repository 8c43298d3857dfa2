import { describe, expect, it } from 'vitest';
import { clusterInfoFor, formatGroupOverrides, parseClusterTxt } from '../../../agent/plan/cluster.js';
import { listFixtures, readFixture } from './fixture.js';

interface Expect {
  globalOverrides: string[];
  problems: number;
  hosts: Record<string, { groupNames: string[]; imageName?: string; groupOverrides: string[]; globalOverrides: string[]; problems?: number }>;
}

const files = listFixtures('cluster', '.txt');

describe.each(files)('cluster/%s', (file) => {
  const source = `scripts/${file}`;
  const parsed = parseClusterTxt(readFixture(`cluster/${file}`), source);
  const want = JSON.parse(readFixture(`cluster/${file.replace(/\.txt$/, '.expect.json')}`)) as Expect;

  it('reads the global overrides', () => expect(parsed.globalOverrides).toEqual(want.globalOverrides));
  it(`reports ${want.problems} problems, each naming file and line`, () => {
    expect(parsed.problems).toHaveLength(want.problems);
    for (const p of parsed.problems) expect(p.source).toMatch(new RegExp(`^${source.replace(/\./g, '\\.')}:\\d+$`));
  });
  it.each(Object.entries(want.hosts))('host %s', (host, exp) => {
    const { problems, ...info } = clusterInfoFor(parsed, host);
    expect(info).toEqual({ groupNames: exp.groupNames, ...(exp.imageName ? { imageName: exp.imageName } : {}), groupOverrides: exp.groupOverrides, globalOverrides: exp.globalOverrides });
    expect(problems).toHaveLength(exp.problems ?? 0);
  });
});

describe('parseClusterTxt details', () => {
  it('finds the fixtures', () => expect(files).toContain('manual-example.txt'));

  it('puts the global overrides first in GROUP_OVERRIDES (least important)', () => {
    const c = parseClusterTxt(readFixture('cluster/manual-example.txt'), 'cluster.txt');
    expect(formatGroupOverrides(clusterInfoFor(c, 'node001'))).toBe('all Storage SuSE10 SuSE10_frontend');
  });

  it('matches the host name exactly, not as a prefix or a pattern', () => {
    const c = parseClusterTxt('node1:g1:i1:o1\nnode10:g10:i10:o10\nnode.:gdot:idot:odot\n', 'c');
    expect(clusterInfoFor(c, 'node1').groupNames).toEqual(['g1']);
    expect(clusterInfoFor(c, 'node').groupNames).toEqual([]);
    expect(clusterInfoFor(c, 'nodeX').groupNames).toEqual([]);
  });

  it('takes no global overrides when the line is absent, and several global lines add up', () => {
    expect(parseClusterTxt('a:b:c:d\n', 'c').globalOverrides).toEqual([]);
    expect(parseClusterTxt('# global_override=:g1:\n#global_override=:g2:g1:\n', 'c').globalOverrides).toEqual(['g1', 'g2']);
  });

  it('keeps hostile names as data and reports them with file, line, key and value', () => {
    const c = parseClusterTxt(readFixture('cluster/hostile.txt'), 'scripts/cluster.txt');
    expect(c.lines.find((l) => l.line === 3)).toMatchObject({ hostname: 'node001', group: '$(reboot)', image: 'img`id`' });
    expect(c.problems).toContainEqual({ source: 'scripts/cluster.txt:3', key: 'group', message: expect.stringContaining('"$(reboot)" is not a safe name') });
    expect(c.problems).toContainEqual({ source: 'scripts/cluster.txt:4', key: 'override', message: expect.stringContaining('"../../etc"') });
    expect(c.problems).toContainEqual({ source: 'scripts/cluster.txt:9', key: 'line', message: expect.stringContaining('"justonefield"') });
    expect(c.problems).toContainEqual({ source: 'scripts/cluster.txt:11', key: 'line', message: expect.stringContaining('6 fields') });
  });

  it('does not replace an unsafe first image with a later one', () => {
    const c = parseClusterTxt('n1:g:bad;image:o\nn1:h:good:p\n', 'c');
    const info = clusterInfoFor(c, 'n1');
    expect(info.imageName).toBeUndefined();
    expect(info.problems).toEqual([{ source: 'c:1', key: 'image', message: expect.stringContaining('"bad;image"') }]);
  });

  it('parses 100 kB lines without throwing and reports them shortened', () => {
    const huge = 'h'.repeat(100_000);
    const text = `# global_override=:${huge}:\n${huge}:g:i:o\nn1:${huge}:${huge}:${huge}\nn1:g:img:ovr\n${'x'.repeat(100_000)}\n`;
    const c = parseClusterTxt(text, 'c');
    expect(c.lines).toHaveLength(3);
    expect(c.problems.map((p) => `${p.source} ${p.key}`)).toEqual(['c:1 global_override', 'c:2 hostname', 'c:3 group', 'c:3 image', 'c:3 override', 'c:5 line']);
    for (const p of c.problems) expect(p.message.length).toBeLessThan(300);
    const info = clusterInfoFor(c, 'n1');
    expect(info).toMatchObject({ groupNames: ['g'], groupOverrides: ['ovr'], globalOverrides: [] });
    expect(info.imageName).toBeUndefined(); // the first image named is the unusable huge one
  });
});
