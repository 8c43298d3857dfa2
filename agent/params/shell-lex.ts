// A small POSIX-shell lexer for one logical line: words made of literal, parameter and command-substitution parts. Nothing is evaluated.

/** lit: text taken as is (quoted: it came from quotes or an escape); param: `$X`/`${...}` (inner text); cmdsub: `$(...)`, `$((...))` or backticks. */
export type Part = { kind: 'lit'; text: string; quoted: boolean } | { kind: 'param'; inner: string; raw: string } | { kind: 'cmdsub'; raw: string };

export interface Word {
  parts: Part[];
  plain?: string; // the text when the word is only unquoted literal text (keywords, operators)
}

export type Connector = 'start' | ';' | '&&' | '||' | '|' | '&';

export interface Command {
  connector: Connector; // how this command joins the previous one on the line
  words: Word[];
}

export interface LexResult {
  commands: Command[];
  heredocs: string[]; // here-document delimiters opened on this line
  error?: string; // e.g. "unterminated double quote"
}

const OPERATOR_CHARS = ';&|()<>';

/** Splits one line of shell into commands and words, without evaluating anything. */
export function lexShellLine(line: string): LexResult {
  const commands: Command[] = [{ connector: 'start', words: [] }];
  const heredocs: string[] = [];
  let i = 0;
  const n = line.length;
  const current = (): Command => commands[commands.length - 1]!;
  while (i < n) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') { i++; continue; }
    if (c === '#') break;
    if (c === ';' || c === '&' || c === '|') {
      const two = line.slice(i, i + 2);
      const op: Connector = two === '&&' ? '&&' : two === '||' ? '||' : c === ';' ? ';' : c === '&' ? '&' : '|';
      i += two === '&&' || two === '||' || two === ';;' ? 2 : 1;
      commands.push({ connector: op, words: [] });
      continue;
    }
    if (c === '(' || c === ')') { current().words.push({ parts: [{ kind: 'lit', text: c, quoted: false }], plain: c }); i++; continue; }
    if (c === '<' || c === '>') {
      let j = i;
      while (j < n && (line[j] === '<' || line[j] === '>' || line[j] === '&' || line[j] === '-')) j++;
      const op = line.slice(i, j);
      current().words.push({ parts: [{ kind: 'lit', text: op, quoted: false }], plain: op });
      i = j;
      if (op.startsWith('<<') && !op.startsWith('<<<')) {
        while (i < n && (line[i] === ' ' || line[i] === '\t')) i++;
        const m = /^(['"]?)([A-Za-z0-9_.-]+)\1/.exec(line.slice(i));
        if (m) { heredocs.push(m[2]!); i += m[0].length; }
      }
      continue;
    }
    const r = readWord(line, i);
    if (r.error) return { commands, heredocs, error: r.error };
    current().words.push(r.word);
    i = r.end;
  }
  return { commands: commands.filter((cmd) => cmd.words.length > 0), heredocs };
}

/** Reads one word starting at i; stops at whitespace or an operator outside quotes. */
function readWord(s: string, start: number): { word: Word; end: number; error?: string } {
  const parts: Part[] = [];
  const pushLit = (text: string, quoted: boolean): void => {
    const last = parts[parts.length - 1];
    if (last && last.kind === 'lit' && last.quoted === quoted && !quoted) last.text += text;
    else parts.push({ kind: 'lit', text, quoted });
  };
  let i = start;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || OPERATOR_CHARS.includes(c)) break;
    if (c === '\\') {
      if (i + 1 < s.length) pushLit(s[i + 1]!, true);
      i += 2;
      continue;
    }
    if (c === "'") {
      const close = s.indexOf("'", i + 1);
      if (close < 0) return { word: { parts }, end: s.length, error: 'unterminated single quote' };
      parts.push({ kind: 'lit', text: s.slice(i + 1, close), quoted: true });
      i = close + 1;
      continue;
    }
    if (c === '"') {
      const r = readDouble(s, i + 1, parts);
      if (r < 0) return { word: { parts }, end: s.length, error: 'unterminated double quote' };
      i = r;
      continue;
    }
    if (c === '$' || c === '`') {
      const r = readDollar(s, i);
      if (r.error) return { word: { parts }, end: s.length, error: r.error };
      if (r.part) parts.push(r.part);
      else pushLit('$', false);
      i = r.end;
      continue;
    }
    pushLit(c, false);
    i++;
  }
  const plain = parts.length === 1 && parts[0]!.kind === 'lit' && !parts[0]!.quoted ? parts[0]!.text : undefined;
  return { word: plain === undefined ? { parts } : { parts, plain }, end: i };
}

/** Reads a double-quoted string body from i (after the quote) into parts; returns the index after the closing quote, or -1. */
function readDouble(s: string, start: number, parts: Part[]): number {
  let i = start;
  let buf = '';
  const flush = (): void => { if (buf) parts.push({ kind: 'lit', text: buf, quoted: true }); buf = ''; };
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"') { flush(); if (start === i) parts.push({ kind: 'lit', text: '', quoted: true }); return i + 1; }
    if (c === '\\' && i + 1 < s.length && '$`"\\\n'.includes(s[i + 1]!)) { if (s[i + 1] !== '\n') buf += s[i + 1]; i += 2; continue; }
    if (c === '$' || c === '`') {
      const r = readDollar(s, i);
      if (r.error) return -1;
      if (r.part) { flush(); parts.push(r.part); } else buf += '$';
      i = r.end;
      continue;
    }
    buf += c;
    i++;
  }
  return -1;
}

/** Reads `$NAME`, `${...}`, `$(...)`, `$((...))` or a backtick substitution at i. */
function readDollar(s: string, i: number): { part?: Part; end: number; error?: string } {
  if (s[i] === '`') {
    let j = i + 1;
    while (j < s.length && s[j] !== '`') j += s[j] === '\\' ? 2 : 1;
    if (j >= s.length) return { end: s.length, error: 'unterminated backquote' };
    return { part: { kind: 'cmdsub', raw: s.slice(i, j + 1) }, end: j + 1 };
  }
  const next = s[i + 1];
  if (next === '(' || next === '{') {
    const close = next === '(' ? ')' : '}';
    let depth = 0;
    let j = i + 1;
    let quote = '';
    for (; j < s.length; j++) {
      const c = s[j]!;
      if (quote) { if (c === quote) quote = ''; else if (c === '\\' && quote === '"') j++; continue; }
      if (c === "'" || c === '"') quote = c;
      else if (c === '\\') j++;
      else if (c === next) depth++;
      else if (c === close && --depth === 0) break;
    }
    if (j >= s.length) return { end: s.length, error: next === '(' ? 'unterminated $(' : 'unterminated ${' };
    const raw = s.slice(i, j + 1);
    if (next === '(') return { part: { kind: 'cmdsub', raw }, end: j + 1 };
    return { part: { kind: 'param', inner: s.slice(i + 2, j), raw }, end: j + 1 };
  }
  const m = /^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9?#@*!$-])/.exec(s.slice(i + 1, i + 200));
  if (!m) return { end: i + 1 };
  return { part: { kind: 'param', inner: m[0], raw: '$' + m[0] }, end: i + 1 + m[0].length };
}

/** Splits `NAME=rest` off an assignment word; undefined when the word is not an assignment. */
export function splitAssignment(word: Word): { name: string; value: Part[] } | undefined {
  const first = word.parts[0];
  if (!first || first.kind !== 'lit' || first.quoted) return undefined;
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(first.text);
  if (!m) return undefined;
  const rest = first.text.slice(m[0].length);
  const value: Part[] = rest ? [{ kind: 'lit', text: rest, quoted: false }, ...word.parts.slice(1)] : word.parts.slice(1);
  return { name: m[1]!, value };
}
