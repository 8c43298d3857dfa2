import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../../agent/errors.js';
import { parseLocalCfg, shortenLine } from '../../../agent/params/local-cfg.js';

const dir = join(__dirname, '../../../fixtures/params/local-cfg/');
const cases = readdirSync(dir).filter((f) => f.endsWith('.cfg'));

describe('parseLocalCfg over fixtures/params/local-cfg', () => {
  it('has fixtures, one with CRLF endings', () => {
    expect(cases.length).toBeGreaterThanOrEqual(4);
    expect(readFileSync(dir + 'crlf.cfg', 'utf8')).toContain('\r\n');
  });
  for (const file of cases) {
    it(file, () => {
      const path = `/tmp/x/${file}`;
      const r = parseLocalCfg(readFileSync(dir + file, 'utf8'), path);
      const expected = JSON.parse(readFileSync(dir + file.replace(/\.cfg$/, '.expected.json'), 'utf8'));
      expect(r.assignments).toEqual(expected.assignments.map(([name, value, line]: [string, string, number]) => ({ name, value, source: `local.cfg:${path}:${line}` })));
      expect(r.problems.map(formatProblem)).toEqual(expected.problems.map((p: string) => p.replace('local.cfg:FILE:', `local.cfg:${path}:`)));
    });
  }
});

describe('parseLocalCfg details', () => {
  it('reports every bad line, not just the first', () => {
    const r = parseLocalCfg('A=1\nfoo\nbar\nB=2\n', 'f');
    expect(r.problems.map((p) => p.source)).toEqual(['local.cfg:f:2', 'local.cfg:f:3']);
    expect(r.assignments.map((a) => a.name)).toEqual(['A', 'B']);
  });
  it('a bad line yields no partial assignments', () => {
    expect(parseLocalCfg('A=1 B=$(x)', 'f').assignments).toEqual([]);
  });
  it('shortens long lines and shows control characters', () => {
    expect(shortenLine('x'.repeat(100))).toHaveLength(60);
    expect(shortenLine('a\x1b[2Jb')).toBe('a\\x1b[2Jb');
  });
  it('strips a UTF-8 byte order mark', () => {
    expect(parseLocalCfg('\uFEFFIMAGENAME=a', 'f').assignments[0]).toEqual({ name: 'IMAGENAME', value: 'a', source: 'local.cfg:f:1' });
  });
});
