// Parses local.cfg (and other assignment files) as shell-style `NAME=value` lines, without executing anything.
//
// Accepted per line: blank lines, `#` comments (whole line, or after a word outside quotes),
// `[export] NAME=value [NAME2=value2 ...]` (several commands joined by `;` too), single
// quotes (literal), double quotes (backslash escapes `\"`, `\\`, `\$`, `` \` ``), unquoted
// backslash escapes, CRLF endings. `$VAR` and `${VAR}` are NOT expanded: the text stays
// literal (`LOG_SERVER=$IMAGESERVER` gives the value `$IMAGESERVER`, which validation then
// rejects by name). Command substitutions (`$(...)`, backticks) are refused, as is any line
// that is not only assignments (`rm -rf /`, `NAME = value`, `1FOO=x`, `A=1 && b`). A quoted
// value cannot span lines.

import type { Problem } from '../errors.js';
import type { Assignment } from './types.js';
import { canonicalName } from './names.js';
import { lexShellLine, splitAssignment, type Part } from './shell-lex.js';

export interface ParsedAssignments {
  assignments: Assignment[];
  problems: Problem[];
}

/** Parses a local.cfg file; sources read `local.cfg:<file>:<line>`. */
export function parseLocalCfg(text: string, file: string): ParsedAssignments {
  return parseAssignmentLines(text, `local.cfg:${file}`);
}

/** Parses assignment lines; each source is `<sourcePrefix>:<line>`. */
export function parseAssignmentLines(text: string, sourcePrefix: string): ParsedAssignments {
  const assignments: Assignment[] = [];
  const problems: Problem[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((raw, idx) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const source = `${sourcePrefix}:${idx + 1}`;
    const r = parseAssignmentLine(line);
    if ('error' in r) problems.push({ source, key: shortenLine(line), message: r.error });
    else for (const a of r.pairs) assignments.push({ name: canonicalName(a.name) ?? a.name, value: a.value, source });
  });
  return { assignments, problems };
}

/** Parses one line into its assignments, or says why it is not an assignment line. */
export function parseAssignmentLine(line: string): { pairs: { name: string; value: string }[] } | { error: string } {
  if (line.trim() === '' || line.trimStart().startsWith('#')) return { pairs: [] };
  if (line.length > 65536) return { error: 'not an assignment (line too long)' };
  const lex = lexShellLine(line);
  if (lex.error) return { error: `not an assignment (${lex.error})` };
  const pairs: { name: string; value: string }[] = [];
  for (const cmd of lex.commands) {
    if (cmd.connector !== 'start' && cmd.connector !== ';') return { error: 'not an assignment' };
    let words = cmd.words;
    if (words[0]?.plain === 'export' || words[0]?.plain === 'readonly') {
      words = words.slice(1);
      // `export NAME` alone marks an existing variable for export: nothing to assign.
      words = words.filter((w) => !(w.plain !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(w.plain)));
      if (words.length === 0) continue;
    }
    for (const w of words) {
      const a = splitAssignment(w);
      if (!a) return { error: 'not an assignment' };
      const value = literalValue(a.value);
      if (value === undefined) return { error: 'not an assignment (command substitution is never run)' };
      pairs.push({ name: a.name, value });
    }
  }
  return { pairs };
}

/** Joins value parts literally (`$X` stays `$X`); undefined when a command substitution is present. */
function literalValue(parts: Part[]): string | undefined {
  let out = '';
  for (const p of parts) {
    if (p.kind === 'cmdsub') return undefined;
    out += p.kind === 'lit' ? p.text : p.raw;
  }
  return out;
}

/** Shortens a line for an error message and makes control characters visible. */
export function shortenLine(line: string, max = 60): string {
  // eslint-disable-next-line no-control-regex
  const visible = line.trim().replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return visible.length > max ? visible.slice(0, max - 3) + '...' : visible;
}
