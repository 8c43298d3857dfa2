// Writes variables.txt (every resolved parameter, readable by `. variables.txt`) and reads assignment files back.

import { ParamError, type Problem } from '../errors.js';
import type { Params } from './types.js';
import { isShellName } from './names.js';
import { parseAssignmentLines, type ParsedAssignments } from './local-cfg.js';

/** Quotes a value for POSIX sh: as is when only safe characters, else single-quoted with `'\''` for quotes. */
export function quoteShellValue(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]*$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Formats `NAME=value` lines sorted by name. Values with a newline or another control
 * character (tab excepted) are refused, not escaped: POSIX sh has no portable escape
 * for them and no legitimate parameter holds one; validation reports them first.
 * Names that are not shell identifiers are refused too.
 */
export function formatVariablesTxt(params: Params): string {
  const problems: Problem[] = [];
  const lines: string[] = [];
  const names = [...params.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    const t = params.get(name)!;
    if (!isShellName(name)) {
      problems.push({ source: t.source, key: name, message: 'is not a shell variable name; cannot be written to variables.txt' });
      continue;
    }
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(t.value)) {
      problems.push({ source: t.source, key: name, message: `${JSON.stringify(t.value)} contains a control character; cannot be written to variables.txt` });
      continue;
    }
    lines.push(`${name}=${quoteShellValue(t.value)}`);
  }
  if (problems.length > 0) throw new ParamError(problems);
  return lines.map((l) => l + '\n').join('');
}

/** Parses an assignments file such as /tmp/pre-install_variables.txt; sources read `<sourcePrefix>:<line>` (e.g. `pre-install:/tmp/pre-install_variables.txt`). */
export function parseAssignmentsFile(text: string, sourcePrefix: string): ParsedAssignments {
  return parseAssignmentLines(text, sourcePrefix);
}
