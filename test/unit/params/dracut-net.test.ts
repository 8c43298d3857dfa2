import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../../agent/errors.js';
import { resolveParamsFromSources } from '../../../agent/params/resolve.js';
import { parseCmdline } from '../../../agent/params/cmdline.js';

// Each fixture is a kernel command line; its .expected.json lists the parameters it sets ([name, value, source],
// defaults left out, sorted by name), every problem (parse and validation, each naming its source) and the notes.
const dir = join(__dirname, '../../../fixtures/params/dracut-net/');
const cases = readdirSync(dir).filter((f) => f.endsWith('.cmdline'));

/** What a command line resolves to, in the fixtures' form. */
function resolveForFixture(text: string): { params: [string, string, string][]; problems: string[]; notes: string[] } {
  const r = resolveParamsFromSources({ cmdlineText: text, localCfgs: [] });
  return {
    params: [...r.params].filter(([, t]) => t.source !== 'default').map(([k, t]): [string, string, string] => [k, t.value, t.source]).sort((a, b) => a[0].localeCompare(b[0])),
    problems: r.problems.map(formatProblem),
    notes: r.notes,
  };
}

describe('dracut network words over fixtures/params/dracut-net', () => {
  it('has fixtures for every form', () => expect(cases.length).toBeGreaterThanOrEqual(30));
  for (const file of cases) {
    it(file, () => {
      const got = resolveForFixture(readFileSync(dir + file, 'utf8'));
      const expectedFile = dir + file.replace(/\.cmdline$/, '.expected.json');
      if (process.env.SI_WRITE_FIXTURES === '1') writeFileSync(expectedFile, JSON.stringify(got, null, 2) + '\n');
      expect(got).toEqual(JSON.parse(readFileSync(expectedFile, 'utf8')));
    });
  }
  it('fixtures that are meant to fail name a source on every problem, and the others have none', () => {
    for (const file of cases) {
      const { problems } = resolveForFixture(readFileSync(dir + file, 'utf8'));
      expect(problems.length > 0, file).toBe(/^4\d-/.test(file));
      for (const p of problems) expect(p, file).toMatch(/^cmdline( \S+)? \S/);
    }
  });
});

describe('dracut words and the other command line words', () => {
  it('tags each assignment with the word it came from', () => {
    const a = parseCmdline('ip=eth0:dhcp IMAGESERVER=10.0.0.1').assignments;
    expect(a.map((x) => x.source)).toEqual(['cmdline ip=eth0:dhcp', 'cmdline ip=eth0:dhcp', 'cmdline']);
  });
  it('ignores dracut words it does not read (rd.neednet, ip6=) and words for other programs', () => {
    expect(parseCmdline('rd.neednet=1 rd.peerdns=0 bootdev=eth0 ipv6.disable=1').assignments).toEqual([]);
  });
});

describe('plan --json', () => {
  it('shows each network parameter with the word it came from', async () => {
    const { buildPlanObject } = await import('../../../agent/plan-output.js');
    const r = resolveParamsFromSources({ cmdlineText: 'bond=bond0:eth0,eth1:mode=active-backup vlan=bond0.42:bond0 ip=bond0.42:dhcp', localCfgs: [{ file: '/l', text: 'MTU=9000\n' }] });
    const ctx = { params: r.params, state: {}, opts: {} } as unknown as Parameters<typeof buildPlanObject>[0];
    const parameters = buildPlanObject(ctx).parameters as Record<string, { value: string; source: string }>;
    expect(parameters.VLAN_ID).toEqual({ value: '42', source: 'cmdline vlan=bond0.42:bond0' });
    expect(parameters.BOND_OPTS).toEqual({ value: 'mode=active-backup', source: 'cmdline bond=bond0:eth0,eth1:mode=active-backup' });
    expect(parameters.DEVICE).toEqual({ value: 'bond0.42', source: 'cmdline ip=bond0.42:dhcp' });
    expect(parameters.MTU).toEqual({ value: '9000', source: 'local.cfg:/l:1' });
  });
});
