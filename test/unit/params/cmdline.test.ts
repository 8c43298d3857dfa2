import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../../agent/errors.js';
import { parseCmdline, splitCmdlineWords } from '../../../agent/params/cmdline.js';

const dir = join(__dirname, '../../../fixtures/params/cmdline/');
const cases = readdirSync(dir).filter((f) => f.endsWith('.cmdline'));

describe('parseCmdline over fixtures/params/cmdline', () => {
  it('has fixtures', () => expect(cases.length).toBeGreaterThanOrEqual(4));
  for (const file of cases) {
    it(file, () => {
      const text = readFileSync(dir + file, 'utf8');
      const expected = JSON.parse(readFileSync(dir + file.replace(/\.cmdline$/, '.expected.json'), 'utf8'));
      const r = parseCmdline(text);
      expect(r.assignments.map((a) => [a.name, a.value])).toEqual(expected.assignments);
      expect(r.assignments.every((a) => a.source === 'cmdline')).toBe(true);
      expect(r.problems.map(formatProblem)).toEqual(expected.problems);
      if (expected.notes) expect(r.notes).toEqual(expected.notes);
    });
  }
});

describe('parseCmdline details', () => {
  it('uses the given source name', () => {
    expect(parseCmdline('IMAGENAME=x', 'test-src').assignments).toEqual([{ name: 'IMAGENAME', value: 'x', source: 'test-src' }]);
  });
  it('keeps the value after the first = only as value', () => {
    expect(parseCmdline('SSH_DOWNLOAD_URL=http://h/x?a=b').assignments[0]!.value).toBe('http://h/x?a=b');
  });
  it('ignores words without = and lowercase unknown names, drops BOOT_IMAGE', () => {
    expect(parseCmdline('quiet splash ro root=/dev/ram BOOT_IMAGE=/vmlinuz =x').assignments).toEqual([]);
  });
  it('splits on any whitespace, including tabs and the trailing newline of /proc/cmdline', () => {
    expect(splitCmdlineWords('a\tb  "c d"e\n')).toEqual({ words: ['a', 'b', 'c de'] });
  });
});
