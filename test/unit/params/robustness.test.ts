import { describe, expect, it } from 'vitest';
import { parseCmdline } from '../../../agent/params/cmdline.js';
import { parseLocalCfg } from '../../../agent/params/local-cfg.js';
import { mergeParams } from '../../../agent/params/merge.js';
import { readScriptVariables } from '../../../agent/params/script-vars.js';
import { formatVariablesTxt, parseAssignmentsFile } from '../../../agent/params/variables-txt.js';
import { validateParams } from '../../../agent/params/validate.js';

// Deterministic pseudo-random shell-ish text: the parsers must never throw on it.
function* samples(count: number): Generator<string> {
  let seed = 12345;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const atoms = ['IMAGENAME', 'X', '=', '"', "'", '\\', '$', '${', '}', '$(', ')', '`', ';', '&&', '||', '|', '#', ' ', '\n', '\r\n', 'if', 'then', 'fi', '{', 'export', '<<EOF', 'EOF', '[', ']', '-z', 'a b', 'SI_POST_ACTION'];
  for (let k = 0; k < count; k++) {
    const prefixes = ['IMAGENAME=', 'X=', 'export Y=', '[ -z $X ] && X=', ''];
    const lines: string[] = [];
    for (let l = rnd(6); l >= 0; l--) {
      let s = prefixes[rnd(prefixes.length)]!;
      for (let j = rnd(8); j > 0; j--) s += atoms[rnd(atoms.length)];
      lines.push(s);
    }
    yield lines.join(rnd(2) ? '\n' : '\r\n');
  }
}

describe('parsers on arbitrary input', () => {
  it('never throw, and whatever local.cfg yields survives variables.txt', () => {
    let taken = 0;
    for (const text of samples(3000)) {
      const cfg = parseLocalCfg(text, 'fuzz');
      parseCmdline(text);
      const script = readScriptVariables(text, 'fuzz.sh', mergeParams([]));
      expect(Array.isArray(script.warnings)).toBe(true);
      // Values from line-based sources hold no newline, so they always format and read back.
      const params = mergeParams([cfg.assignments]);
      const bad = validateParams(params).filter((p) => /control character/.test(p.message));
      expect(bad).toEqual([]);
      const back = parseAssignmentsFile(formatVariablesTxt(params), 'x');
      expect(back.problems).toEqual([]);
      for (const a of cfg.assignments) {
        expect(back.assignments.find((b) => b.name === a.name)?.value).toBe(params.get(a.name)!.value);
        taken++;
      }
    }
    expect(taken).toBeGreaterThan(0);
  });
});
