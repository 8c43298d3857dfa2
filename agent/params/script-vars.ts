// Reads the variables a 4.3 autoinstall script (`<name>.master` / `.sh`) assigns, without running it (SPEC 5).
//
// Taken: top-level assignments (`NAME=v`, `export NAME=v`), `&&`/`||` chains after a test
// (`[ -z $IMAGENAME ] && IMAGENAME=v`), a top-level `if <test>; then ... else ... fi`, and
// `${NAME=v}` side effects (the 4.3 template's `echo DISKORDER=${DISKORDER=sd,...}`), all in
// script order, so an unconditional assignment wins over a known value as running would.
// Only known parameters are returned; every variable assigned is remembered for `$VAR`
// expansion. Values set by default (source "default") count as unset, since a 4.3 script
// never saw them. Command substitutions are never run: such an assignment is skipped with a
// warning. Assignments inside functions, loops, case and `{ }` blocks are not taken.
// An empty assignment never replaces a value another source gave (the master's `DISKORDER=`).
// Also taken, from a 4.3 master: the post-install action of its final block (`shutdown -r now`,
// `beep_incessantly`, ...) as POST_ACTION, and `echo NAME=v >> /tmp/variables.txt` (IP_ASSIGNMENT_METHOD).
// The lines that run commands are listed, so read mode can say what it will not run.

import type { Assignment, Params } from './types.js';
import { canonicalName } from './names.js';
import { lexShellLine, splitAssignment, type Command, type Word } from './shell-lex.js';
import { evaluateTest, expandParts, expandWord, shorten, type ShellEnv } from './shell-expand.js';
import { FUNCTIONS_FILE, isWorkCommand, postActionOf, sourcesFile, variablesTxtAppend, type ScriptCommandLine } from './script-commands.js';

export interface ScriptVariables {
  assignments: Assignment[];
  warnings: string[];
  master: boolean; // it sources /etc/init.d/functions: a 4.3 master that does the install itself
  commands: ScriptCommandLine[]; // lines that run commands (not only assignments taken, tests or keywords)
}

/** State of one read: the shell variables, what came from the script itself, and the current line. */
interface Reader {
  env: ShellEnv;
  known: Params;
  out: ScriptVariables;
  fromScript: Set<string>;
  line: { work: boolean; took: boolean };
}

type Frame = { kind: 'if'; cond: boolean | undefined; branch: 'test' | 'then' | 'else'; elif?: boolean } | { kind: 'loop' | 'case' | 'brace' | 'subshell' };

const OPENERS: Record<string, 'loop' | 'case' | 'brace' | 'subshell'> = { while: 'loop', until: 'loop', for: 'loop', select: 'loop', case: 'case', '{': 'brace', '(': 'subshell' };
const CLOSERS: Record<string, string> = { done: 'loop', esac: 'case', '}': 'brace', ')': 'subshell', fi: 'if' };
const MAX_LINE = 100_000;
const MAX_JOIN = 100;

/** Reads the parameter assignments an autoinstall script makes; sources read `script:<name>:<line>`. */
export function readScriptVariables(text: string, scriptName: string, known: Params): ScriptVariables {
  const env: ShellEnv = { vars: new Map(), unknown: new Set(), scriptName, lookupName: (n) => canonicalName(n) ?? n };
  for (const [name, t] of known) if (t.source !== 'default') env.vars.set(name, t.value);
  const out: ScriptVariables = { assignments: [], warnings: [], master: false, commands: [] };
  const rd: Reader = { env, known, out, fromScript: new Set(), line: { work: false, took: false } };
  const frames: Frame[] = [];
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  let heredoc: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    if (heredoc !== undefined) { if (lines[i]!.trim() === heredoc) heredoc = undefined; continue; }
    let line = lines[i]!;
    if (line.length > MAX_LINE) { out.warnings.push(`script:${scriptName}:${lineNo}: line of ${line.length} characters skipped`); continue; }
    let lex = lexShellLine(line);
    const first = i;
    let joined = 0;
    const continued = (l: string): boolean => /(^|[^\\])(\\\\)*\\$/.test(l);
    while ((lex.error || continued(line)) && joined < MAX_JOIN && i + 1 < lines.length) {
      line = continued(line) ? line.slice(0, -1) + lines[++i]! : line + '\n' + lines[++i]!;
      joined++;
      lex = line.length > MAX_LINE ? { commands: [], heredocs: [], error: 'too long' } : lexShellLine(line);
    }
    if (lex.error) {
      // Give up on this line only: the lines joined to it are read on their own.
      out.warnings.push(`script:${scriptName}:${lineNo}: ${lex.error}; line skipped`);
      i = first;
      continue;
    }
    rd.line = { work: false, took: false };
    readLine(lex.commands, frames, rd, `script:${scriptName}:${lineNo}`);
    if (rd.line.work && !rd.line.took) out.commands.push({ line: lineNo, text: lines.slice(first, i + 1).map((l) => l.trim()).join(' ') });
    heredoc = lex.heredocs[lex.heredocs.length - 1];
  }
  return out;
}

/** Walks the commands of one logical line, updating block frames and taking assignments that would run. */
function readLine(commands: Command[], frames: Frame[], rd: Reader, source: string): void {
  const { env, out } = rd;
  let status: boolean | undefined = true;
  for (const cmd of commands) {
    let words = cmd.words;
    const isTest = (): boolean => frames.length > 0 && frames[frames.length - 1]!.kind === 'if' && (frames[frames.length - 1] as { branch: string }).branch === 'test';
    // Leading keywords change the block structure.
    for (;;) {
      const kw = words[0]?.plain;
      const top = frames[frames.length - 1];
      if (kw === 'if') frames.push({ kind: 'if', cond: undefined, branch: 'test' });
      else if (kw === 'then' && top?.kind === 'if') top.branch = 'then';
      else if (kw === 'else' && top?.kind === 'if') top.branch = 'else';
      else if (kw === 'elif' && top?.kind === 'if') { top.branch = 'test'; top.cond = undefined; top.elif = true; }
      else if (kw !== undefined && Object.hasOwn(CLOSERS, kw)) { if (top && top.kind === CLOSERS[kw]) frames.pop(); }
      else if (kw !== undefined && Object.hasOwn(OPENERS, kw)) { frames.push({ kind: OPENERS[kw]! }); if (OPENERS[kw] === 'loop' || OPENERS[kw] === 'case') { words = []; break; } }
      else if (kw === 'do' || kw === '!') { /* nothing */ }
      else if (kw === 'function' && words.length > 1) words = words.slice(1);
      else if (kw !== undefined && words[1]?.plain === '(' && words[2]?.plain === ')') words = words.slice(2);
      else break;
      words = words.slice(1);
    }
    const top = frames[frames.length - 1];
    if (words[words.length - 1]?.plain === ')' && top?.kind === 'subshell') { frames.pop(); continue; }
    if (words.length === 0) continue;
    if (isWorkCommand(words) && !words.every((w) => splitAssignment(w) !== undefined)) rd.line.work = true;
    const runs = cmd.connector === '&&' ? status : cmd.connector === '||' ? (status === undefined ? undefined : !status) : cmd.connector === '|' ? undefined : true;
    if (runs === false) continue;
    const ctx = contextRuns(frames);
    if (isTest() && frames.length === 1) {
      const t = evaluateTest(words, env);
      const f = frames[0] as { cond: boolean | undefined; elif?: boolean };
      f.cond = runs === true && !f.elif ? t.result : undefined;
      continue;
    }
    if (ctx !== true) {
      const action = postActionOf(words);
      if (action) out.warnings.push(`${source} POST_ACTION: "${action}" under a condition not understood; not taken`);
      status = undefined;
      continue;
    }
    status = runCommand(words, runs, rd, source);
  }
}

/** True when a command at this nesting would run for sure; false or undefined otherwise. */
function contextRuns(frames: Frame[]): boolean | undefined {
  if (frames.length === 0) return true;
  const f = frames[0]!;
  if (frames.length !== 1 || f.kind !== 'if' || f.branch === 'test' || f.cond === undefined || f.elif) return undefined;
  return f.branch === 'then' ? f.cond : !f.cond;
}

/** Takes the effects of one top-level command; returns its exit status when known. */
function runCommand(words: Word[], runs: boolean | undefined, rd: Reader, source: string): boolean | undefined {
  const { env, out } = rd;
  if (words[0]?.plain === '[' || words[0]?.plain === '[[' || words[0]?.plain === 'test') {
    const t = evaluateTest(words, env);
    if (runs) for (const [n, v] of t.sets) assign(n, v, rd, source);
    return runs ? t.result : undefined;
  }
  const isExport = words[0]?.plain === 'export' || words[0]?.plain === 'readonly';
  const rest = isExport ? words.slice(1).filter((w) => !(w.plain !== undefined && /^[A-Za-z_]\w*$/.test(w.plain))) : words;
  const pairs = rest.map(splitAssignment);
  if (pairs.length > 0 && pairs.every((p) => p !== undefined)) {
    for (const p of pairs) {
      const ex = expandParts(p!.value, env);
      if (runs !== true) {
        if (canonicalName(p!.name)) out.warnings.push(`${source} ${p!.name}: condition not understood; assignment skipped`);
        continue;
      }
      for (const [n, v] of ex.sets) assign(n, v, rd, source);
      if (ex.tainted) {
        env.unknown.add(env.lookupName(p!.name));
        if (canonicalName(p!.name)) out.warnings.push(`${source} ${p!.name}: ${ex.tainted}; assignment skipped`);
        continue;
      }
      assign(p!.name, ex.value, rd, source);
    }
    return runs === true ? true : undefined;
  }
  // Any other command: only `${X=word}` side effects of its words are taken, when it surely runs,
  // and what a master does that the agent takes over: its post-install action, its appends to variables.txt.
  if (runs === true) for (const w of words) for (const [n, v] of expandWord(w, env).sets) assign(n, v, rd, source);
  if (sourcesFile(words, FUNCTIONS_FILE)) out.master = true;
  const action = postActionOf(words);
  if (action && runs === true) assign('POST_ACTION', action, rd, source);
  else if (action) out.warnings.push(`${source} POST_ACTION: "${action}" under a condition not understood; not taken`);
  const appended = variablesTxtAppend(words);
  if (appended && runs === true) takeAppended(appended, rd, source);
  return undefined;
}

/** Takes `NAME=value` echoed into variables.txt as an assignment of NAME. */
function takeAppended(word: Word, rd: Reader, source: string): void {
  const ex = expandWord(word, rd.env);
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/.exec(ex.value);
  if (!m) return;
  if (ex.tainted) {
    if (canonicalName(m[1]!)) rd.out.warnings.push(`${source} ${m[1]}: ${ex.tainted}; assignment skipped`);
    return;
  }
  assign(m[1]!, m[2]!, rd, source);
}

/**
 * Records an assignment in the env, and in the result when it is a known parameter. An empty value
 * does not replace a value from another source (it stays for later expansions too); a different
 * value that does is worth a warning, since the operator set it on purpose.
 */
function assign(name: string, value: string, rd: Reader, source: string): void {
  const { env, out } = rd;
  const key = env.lookupName(name);
  const canonical = canonicalName(name);
  rd.line.took = true;
  const other = canonical && !rd.fromScript.has(canonical) ? rd.known.get(canonical) : undefined;
  const given = other && other.source !== 'default' && other.value !== '' ? other : undefined;
  if (given && value === '') return;
  env.vars.set(key, value);
  env.unknown.delete(key);
  if (canonical) {
    if (given && given.value !== value) out.warnings.push(`${source} ${canonical}: ${JSON.stringify(value)} replaces ${JSON.stringify(given.value)} from ${given.source}`);
    rd.fromScript.add(canonical);
    out.assignments.push({ name: canonical, value, source });
  } else if (value.length > 4096) out.warnings.push(`${source} ${shorten(name)}: very long value`);
}
