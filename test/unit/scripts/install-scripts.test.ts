import { describe, expect, it } from 'vitest';
import { installScriptTags, selectInstallScripts, selectInstallScriptsDetailed, type InstallScriptOpts } from '../../../agent/plan/install-scripts.js';
import { readFixture } from './fixture.js';

const listing = readFixture('install/post-install.list').split('\n').filter((l) => l !== '');
const node001: InstallScriptOpts = { imageName: 'SuSE10', baseHostname: 'node', groups: ['Login', 'Storage'], hostname: 'node001' };

describe('selectInstallScripts over install/post-install.list', () => {
  it.each<[string, InstallScriptOpts, string[]]>([
    [
      'node001: all, image, base, groups, host; sorted within a tag',
      node001,
      ['10all.fix_swap_uuids', '95all.monitord_rebooted', '99all.harmless_example_script', '00SuSE10.first', '50SuSE10.repos', '10node.foo', '20node.bar', '30Login.motd', '30Storage.multipath', '40Storage.lustre', '05node001.early', '10node001.hostkeys'],
    ],
    ['nothing known: the all scripts only', { groups: [] }, ['10all.fix_swap_uuids', '95all.monitord_rebooted', '99all.harmless_example_script']],
    [
      'a tag order that differs from the numbers',
      { hostname: 'node002', groups: ['Compute'], baseHostname: 'node' },
      ['10all.fix_swap_uuids', '95all.monitord_rebooted', '99all.harmless_example_script', '10node.foo', '20node.bar', '20Compute.other_group', '10node002.other_host'],
    ],
    [
      'each script once when tags repeat (group named all, image = base)',
      { imageName: 'node', baseHostname: 'node', groups: ['all', 'node'] },
      ['10all.fix_swap_uuids', '95all.monitord_rebooted', '99all.harmless_example_script', '10node.foo', '20node.bar'],
    ],
    ['empty base hostname matches nothing extra', { baseHostname: '', groups: [] }, ['10all.fix_swap_uuids', '95all.monitord_rebooted', '99all.harmless_example_script']],
  ])('%s', (_what, opts, want) => {
    expect(selectInstallScripts(listing, opts)).toEqual(want);
  });

  it('never selects backups, dotfiles or names off the NNtag.x pattern', () => {
    const got = selectInstallScripts(listing, node001);
    for (const bad of ['README', 'variables.txt', '.10all.sh.swp', '99all.harmless_example_script~', '10all', '1all.one_digit', '100all.three_digits', '10nodes.not_base', '10allnode.nodot']) {
      expect(got).not.toContain(bad);
    }
  });

  it('reports backups and unsafe names it left out', () => {
    const { skipped } = selectInstallScriptsDetailed(listing, node001);
    expect(skipped).toContainEqual({ name: '99all.harmless_example_script~', reason: 'editor backup (~)' });
    expect(skipped.map((s) => s.name)).toEqual(expect.arrayContaining(['10all.with space', '10all.$(reboot)', '10all.x;reboot', '10all']));
    expect(skipped.map((s) => s.name)).not.toContain('10node002.other_host'); // another host's script is not a problem
  });

  it('matches tags literally, dots included', () => {
    expect(selectInstallScripts(['10rhel9.4.sh', '10rhel9x4.sh', '10rhel9.sh'], { imageName: 'rhel9.4', groups: [] })).toEqual(['10rhel9.4.sh']);
  });

  it('sorts in C byte order, as ls did', () => {
    expect(selectInstallScripts(['20all.b', '10all.b', '10all.B', '10all.a', '02all.z'], { groups: [] })).toEqual(['02all.z', '10all.B', '10all.a', '10all.b', '20all.b']);
  });

  it('lists a file given twice once', () => {
    expect(selectInstallScripts(['10all.a', '10all.a'], { groups: [] })).toEqual(['10all.a']);
  });
});

describe('installScriptTags', () => {
  it('orders all, image, base, groups, host', () => {
    expect(installScriptTags(node001)).toEqual(['all', 'SuSE10', 'node', 'Login', 'Storage', 'node001']);
  });
});
