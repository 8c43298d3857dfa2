// Parses the kernel command line into SystemImager parameter assignments.

import type { Problem } from '../errors.js';
import type { Assignment } from './types.js';
import { canonicalName, KERNEL_WORDS } from './names.js';
import { shortenLine } from './local-cfg.js';
import { isDracutNetWord, parseDracutNetWords } from './dracut-net.js';

export interface ParsedCmdline {
  assignments: Assignment[];
  problems: Problem[];
  notes: string[]; // words ignored that look like they were meant for us (unknown si.* names)
}

/**
 * Parses kernel command line words. `NAME=value`, `NAME="a b"`, `NAME='a b'` and
 * `"NAME=a b"` are read; 4.9 `si.*` aliases map to 4.3 names; kernel words
 * (console=, quiet, BOOT_IMAGE=) are ignored; an unknown UPPERCASE `NAME=value`
 * is kept, since operators pass their own variables to scripts that way. dracut's network words become
 * parameters too (dracut-net.ts).
 */
export function parseCmdline(text: string, source = 'cmdline'): ParsedCmdline {
  const assignments: Assignment[] = [];
  const problems: Problem[] = [];
  const notes: string[] = [];
  const { words, unterminated } = splitCmdlineWords(text);
  if (unterminated !== undefined) {
    problems.push({ source, key: shortenLine(unterminated), message: 'unterminated quote on the kernel command line' });
  }
  const dracut = words.filter(isDracutNetWord);
  for (const word of words) {
    if (isDracutNetWord(word)) continue;
    const eq = word.indexOf('=');
    if (eq <= 0) continue;
    const rawName = word.slice(0, eq);
    const value = word.slice(eq + 1);
    const name = canonicalName(rawName);
    if (name !== undefined) {
      assignments.push({ name, value, source });
    } else if (/^[A-Z_][A-Z0-9_]*$/.test(rawName) && !KERNEL_WORDS.has(rawName)) {
      assignments.push({ name: rawName, value, source });
    } else if (rawName.startsWith('si.')) {
      notes.push(`${source}: ignoring unknown SystemImager parameter ${rawName}`);
    }
  }
  // dracut's ip=, vlan=, bond=, ifname=, nameserver= first: NAME=value words written out win over them.
  const net = parseDracutNetWords(dracut, source);
  return { assignments: [...net.assignments, ...assignments], problems: [...problems, ...net.problems], notes: [...notes, ...net.notes] };
}

/** Splits a command line into words, removing double and single quotes; reports an unterminated quoted word. */
export function splitCmdlineWords(text: string): { words: string[]; unterminated?: string } {
  const words: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && /\s/.test(text[i]!)) i++;
    if (i >= n) break;
    const start = i;
    let word = '';
    let quote = '';
    for (; i < n; i++) {
      const c = text[i]!;
      if (quote) {
        if (c === quote) quote = '';
        else word += c;
      } else if (c === '"' || c === "'") {
        quote = c;
      } else if (/\s/.test(c)) {
        break;
      } else {
        word += c;
      }
    }
    if (quote) return { words, unterminated: text.slice(start) };
    words.push(word);
  }
  return { words };
}
