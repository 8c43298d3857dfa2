import { describe, expect, it } from 'vitest';
import { mergeParams, mergeStandard, withDefaults } from '../../../agent/params/merge.js';
import { applyCheckedLayer, applyLayer, resolveParamsFromSources } from '../../../agent/params/resolve.js';
import type { Assignment } from '../../../agent/params/types.js';

const a = (name: string, value: string, source: string): Assignment => ({ name, value, source });

describe('merge precedence', () => {
  it('defaults are tagged "default"', () => {
    const d = withDefaults();
    expect(d.get('LOG_SERVER_PORT')).toEqual({ value: '514', source: 'default' });
    expect(d.get('MONITOR_PORT')?.value).toBe('8181');
    expect(d.get('POST_ACTION')?.value).toBe('reboot');
    expect(d.has('IMAGESERVER')).toBe(false);
  });

  // Each row: which sources set IMAGESERVER, and who must win.
  const rows: { name: string; dhcp?: string; cfgs: string[]; cmdline?: string; want: [string, string] }[] = [
    { name: 'dhcp only', dhcp: 'd', cfgs: [], want: ['d', 'dhcp'] },
    { name: 'local.cfg over dhcp', dhcp: 'd', cfgs: ['l1'], want: ['l1', 'local.cfg:/a:1'] },
    { name: 'second local.cfg over the first', dhcp: 'd', cfgs: ['l1', 'l2'], want: ['l2', 'local.cfg:/b:1'] },
    { name: 'cmdline over all', dhcp: 'd', cfgs: ['l1', 'l2'], cmdline: 'c', want: ['c', 'cmdline'] },
    { name: 'cmdline over dhcp', dhcp: 'd', cfgs: [], cmdline: 'c', want: ['c', 'cmdline'] },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const files = ['/a', '/b'];
      const p = mergeStandard({
        dhcp: r.dhcp ? [a('IMAGESERVER', r.dhcp, 'dhcp')] : [],
        localCfgs: r.cfgs.map((v, i) => [a('IMAGESERVER', v, `local.cfg:${files[i]}:1`)]),
        cmdline: r.cmdline ? [a('IMAGESERVER', r.cmdline, 'cmdline')] : [],
      });
      expect(p.get('IMAGESERVER')).toEqual({ value: r.want[0], source: r.want[1] });
    });
  }

  it('any layer overrides a default; within a layer the later assignment wins', () => {
    const p = mergeParams([[a('LOG_SERVER_PORT', '1', 'x:1'), a('LOG_SERVER_PORT', '2', 'x:2')]]);
    expect(p.get('LOG_SERVER_PORT')).toEqual({ value: '2', source: 'x:2' });
  });

  it('applyLayer returns a new map and leaves the old one alone', () => {
    const base = withDefaults();
    const next = applyLayer(base, [a('IMAGENAME', 'img', 'script:x.master:3')]);
    expect(next.get('IMAGENAME')?.source).toBe('script:x.master:3');
    expect(base.has('IMAGENAME')).toBe(false);
  });

  it('applyCheckedLayer reports bad values with their source', () => {
    const r = applyCheckedLayer(withDefaults(), [a('MONITOR_PORT', 'abc', 'pre-install:/tmp/v.txt:2')]);
    expect(r.problems).toEqual([{ source: 'pre-install:/tmp/v.txt:2', key: 'MONITOR_PORT', message: '"abc" is not a port (1-65535)' }]);
  });
});

describe('resolveParamsFromSources', () => {
  const cfg1 = { file: '/local.cfg', text: 'IMAGESERVER=10.0.0.1\nMONITOR_SERVER=10.0.0.2\nLOG_SERVER_PORT=99999\n' };
  const cfg2 = { file: '/media/usb/local.cfg', text: '# removable media\nMONITOR_SERVER=10.0.0.3\nnot an assignment\n' };

  it('applies cmdline > local.cfg (later file wins) > dhcp > default and reports all problems', () => {
    const r = resolveParamsFromSources({
      cmdlineText: 'console=ttyS0 IMAGESERVER=10.9.9.9 MONITOR_PORT=0',
      localCfgs: [cfg1, cfg2],
      dhcp: [a('IMAGESERVER', '10.5.5.5', 'dhcp'), a('LOG_SERVER', '10.5.5.6', 'dhcp')],
    });
    expect(r.params.get('IMAGESERVER')).toEqual({ value: '10.9.9.9', source: 'cmdline' });
    expect(r.params.get('MONITOR_SERVER')).toEqual({ value: '10.0.0.3', source: 'local.cfg:/media/usb/local.cfg:2' });
    expect(r.params.get('LOG_SERVER')?.source).toBe('dhcp');
    expect(r.params.get('SSH_USER')?.source).toBe('default');
    expect(r.problems.map((p) => `${p.source} ${p.key}`).sort()).toEqual([
      'cmdline MONITOR_PORT',
      'local.cfg:/local.cfg:3 LOG_SERVER_PORT',
      'local.cfg:/media/usb/local.cfg:3 not an assignment',
    ]);
  });

  it('SKIP_LOCAL_CFG=y on the cmdline keeps local.cfg out, and says so', () => {
    const r = resolveParamsFromSources({ cmdlineText: 'SKIP_LOCAL_CFG=Yes', localCfgs: [cfg1, cfg2] });
    expect(r.params.has('IMAGESERVER')).toBe(false);
    expect(r.problems).toEqual([]);
    expect(r.notes.join('\n')).toMatch(/SKIP_LOCAL_CFG.*\/local\.cfg, \/media\/usb\/local\.cfg/);
  });

  it('SKIP_LOCAL_CFG in a local.cfg itself does not skip it', () => {
    const r = resolveParamsFromSources({ cmdlineText: '', localCfgs: [{ file: '/l', text: 'SKIP_LOCAL_CFG=y\nIMAGENAME=x\n' }] });
    expect(r.params.get('IMAGENAME')?.value).toBe('x');
  });

  it('4.9 aliases on the cmdline override 4.3 names in local.cfg', () => {
    const r = resolveParamsFromSources({ cmdlineText: 'si.post-action=shell', localCfgs: [{ file: '/l', text: 'SI_POST_ACTION=beep' }] });
    expect(r.params.get('POST_ACTION')).toEqual({ value: 'shell', source: 'cmdline' });
  });
});
