import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParamError } from '../../../agent/errors.js';
import { formatVariablesTxt, parseAssignmentsFile, quoteShellValue } from '../../../agent/params/variables-txt.js';
import type { Params } from '../../../agent/params/types.js';

const tricky: Record<string, string> = {
  IMAGENAME: 'rhel9_base',
  OVERRIDES: 'base  web node01',
  SSH_USER: "o'brien",
  MOTD: 'He said "hi" & paid $5 \\ `done` $(not run) ${X}',
  EMPTY: '',
  GLOB: '*',
  HASH: '# not a comment',
  TAB: 'a\tb',
  UNICODE: 'héllo ☃',
  SPACES: '  lead and trail  ',
  QUOTES: `''"'"`,
};
const params = (vals: Record<string, string>): Params => new Map(Object.entries(vals).map(([k, v]) => [k, { value: v, source: 'test' }]));

describe('formatVariablesTxt', () => {
  it('writes sorted NAME=value lines, quoting only when needed', () => {
    expect(formatVariablesTxt(params({ B: 'x y', A: '10.0.0.1', C: "it's" }))).toBe("A=10.0.0.1\nB='x y'\nC='it'\\''s'\n");
    expect(quoteShellValue('sd,nvme:/x=y@z')).toBe('sd,nvme:/x=y@z');
  });

  it('round-trips through parseAssignmentsFile exactly', () => {
    const text = formatVariablesTxt(params(tricky));
    const r = parseAssignmentsFile(text, 'pre-install:/tmp/pre-install_variables.txt');
    expect(r.problems).toEqual([]);
    expect(Object.fromEntries(r.assignments.map((a) => [a.name, a.value]))).toEqual(tricky);
    expect(r.assignments[0]!.source).toBe('pre-install:/tmp/pre-install_variables.txt:1');
  });

  it('round-trips through a real POSIX shell (`. variables.txt`)', () => {
    if (!existsSync('/bin/sh')) return;
    const dir = mkdtempSync(join(tmpdir(), 'vars-'));
    try {
      writeFileSync(join(dir, 'variables.txt'), formatVariablesTxt(params(tricky)));
      const names = Object.keys(tricky);
      // The script is a constant; the file under test is only sourced, its values printed NUL-separated.
      const out = execFileSync('/bin/sh', ['-c', `. "$1/variables.txt"; for n in ${names.join(' ')}; do eval "printf '%s\\0' \\"\\$$n\\""; done`, 'sh', dir], { encoding: 'utf8' });
      expect(out.split('\0').slice(0, -1)).toEqual(Object.values(tricky));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses newlines and non-identifier names, naming each source', () => {
    const p: Params = new Map([
      ['OK', { value: 'x', source: 'cmdline' }],
      ['BAD', { value: 'a\nrm -rf /', source: 'dhcp' }],
      ['A;B', { value: 'x', source: 'pre-install:/t:1' }],
    ]);
    expect(() => formatVariablesTxt(p)).toThrow(ParamError);
    try {
      formatVariablesTxt(p);
    } catch (e) {
      expect((e as ParamError).problems.map((x) => `${x.source} ${x.key}`)).toEqual(['pre-install:/t:1 A;B', 'dhcp BAD']);
    }
  });
});
