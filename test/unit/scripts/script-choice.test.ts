import { describe, expect, it } from 'vitest';
import { SiError } from '../../../agent/errors.js';
import { chooseScript, scriptCandidates, type ScriptChoiceOpts } from '../../../agent/plan/script-choice.js';

const node001: ScriptChoiceOpts = { hostname: 'node001', groups: ['Login', 'Storage'], baseHostname: 'node', imageName: 'SuSE10' };
const allNode001 = ['node001.sh', 'node001.master', 'Login.sh', 'Login.master', 'Storage.sh', 'Storage.master', 'node.sh', 'node.master', 'SuSE10.sh', 'SuSE10.master'];

describe('scriptCandidates', () => {
  it.each<[string, ScriptChoiceOpts, string[]]>([
    ['SCRIPTNAME set: it alone, then .sh, .master', { ...node001, scriptName: 'custom' }, ['custom', 'custom.sh', 'custom.master']],
    ['hostname, groups, base, image', node001, allNode001],
    ['no groups', { hostname: 'web7', groups: [], baseHostname: 'web', imageName: 'rhel9' }, ['web7.sh', 'web7.master', 'web.sh', 'web.master', 'rhel9.sh', 'rhel9.master']],
    ['image only', { groups: [], imageName: 'rhel9' }, ['rhel9.sh', 'rhel9.master']],
    ['duplicates tried once', { hostname: 'web', groups: ['web'], baseHostname: 'web', imageName: 'web' }, ['web.sh', 'web.master']],
    ['empty base hostname skipped', { hostname: '10-0-0-5', groups: [], baseHostname: '', imageName: 'img' }, ['10-0-0-5.sh', '10-0-0-5.master', 'img.sh', 'img.master']],
    ['unsafe names left out', { hostname: '../x', groups: ['$(reboot)', 'ok'], imageName: 'img;rm' }, ['ok.sh', 'ok.master']],
  ])('%s', (_what, opts, want) => expect(scriptCandidates(opts)).toEqual(want));
});

describe('chooseScript', () => {
  it.each<[string, ScriptChoiceOpts, string[], string]>([
    ['host script wins', node001, ['node001.sh', 'Login.master', 'SuSE10.master'], 'node001.sh'],
    ['.sh before .master', node001, ['Login.master', 'Login.sh'], 'Login.sh'],
    ['first group before second', node001, ['Storage.sh', 'Login.master'], 'Login.master'],
    ['base hostname before image', node001, ['SuSE10.sh', 'node.master'], 'node.master'],
    ['image master last', node001, ['SuSE10.master'], 'SuSE10.master'],
    ['SCRIPTNAME exact first', { ...node001, scriptName: 'x' }, ['x.master', 'x', 'node001.sh'], 'x'],
    ['SCRIPTNAME ignores the host candidates', { ...node001, scriptName: 'x' }, ['x.master', 'node001.sh'], 'x.master'],
  ])('%s', (_what, opts, present, want) => {
    const set = new Set(present);
    const got = chooseScript(opts, (n) => set.has(n));
    expect(got.name).toBe(want);
    expect(got.tried.at(-1)).toBe(want);
  });

  it('lists every name tried when none exists', () => {
    const err = catchError(() => chooseScript(node001, () => false));
    expect(err.code).toBe('E_SCRIPT');
    for (const n of allNode001) expect(err.message).toContain(n);
    expect(err.message).toContain(allNode001.join(', '));
  });

  it('mentions unsafe names it left out', () => {
    const err = catchError(() => chooseScript({ hostname: 'node1', groups: ['a;b'], imageName: 'img' }, () => false));
    expect(err.code).toBe('E_SCRIPT');
    expect(err.details.join('\n')).toContain('"a;b"');
  });

  it('says so when nothing names the client', () => {
    const err = catchError(() => chooseScript({ groups: [], baseHostname: 'node' }, () => true));
    expect(err.code).toBe('E_PARAM');
    expect(err.message).toMatch(/none of SCRIPTNAME, IMAGENAME, HOSTNAME is known/);
  });

  it('refuses a SCRIPTNAME that is not a file name', () => {
    const err = catchError(() => chooseScript({ ...node001, scriptName: '../../bin/sh' }, () => true));
    expect(err.code).toBe('E_PARAM');
    expect(err.message).toContain('SCRIPTNAME "../../bin/sh"');
  });
});

function catchError(fn: () => unknown): SiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SiError) return e;
    throw e;
  }
  throw new Error('expected an SiError');
}
