// Expands lexed shell words from a table of variables, never running anything: command substitutions taint the result.

import type { Part, Word } from './shell-lex.js';

/** Variables seen by the expander; `unknown` holds names whose value came from something not evaluated. */
export interface ShellEnv {
  vars: Map<string, string>;
  unknown: Set<string>;
  scriptName: string;
  lookupName: (name: string) => string; // maps aliases (SI_POST_ACTION -> POST_ACTION)
}

export interface Expansion {
  value: string;
  tainted?: string; // why the value cannot be known (command substitution, unsupported expansion)
  sets: [string, string][]; // `${X=word}` side effects, in order
}

/** Expands parts: literals as is, `$X`/`${X...}` from env, command substitutions taint. */
export function expandParts(parts: readonly Part[], env: ShellEnv): Expansion {
  const out: Expansion = { value: '', sets: [] };
  for (const p of parts) {
    if (p.kind === 'lit') out.value += p.text;
    else if (p.kind === 'cmdsub') out.tainted ??= `command substitution ${shorten(p.raw)} is never run`;
    else {
      const r = expandParam(p.inner, p.raw, env);
      out.value += r.value;
      if (r.tainted) out.tainted ??= r.tainted;
      out.sets.push(...r.sets);
    }
  }
  return out;
}

/** Expands one word. */
export function expandWord(word: Word, env: ShellEnv): Expansion {
  return expandParts(word.parts, env);
}

/** Expands the inside of `${...}` (or a bare `$NAME`). */
function expandParam(inner: string, raw: string, env: ShellEnv): Expansion {
  if (/^[0-9?#@*!$-]$/.test(inner)) return { value: inner === '0' ? env.scriptName : '', sets: [] };
  const len = /^#([A-Za-z_][A-Za-z0-9_]*)$/.exec(inner);
  if (len) {
    const v = lookup(len[1]!, env);
    return v.tainted ? v : { value: String(v.value.length), sets: [] };
  }
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-=+?])([\s\S]*))?$/.exec(inner);
  if (!m) return { value: '', tainted: `expansion ${shorten(raw)} is not supported`, sets: [] };
  const name = m[1]!;
  const cur = lookup(name, env);
  if (m[3] === undefined) return cur;
  const colon = m[2] === ':';
  const isSet = env.vars.has(env.lookupName(name)) || env.unknown.has(env.lookupName(name));
  const useAlt = colon ? !isSet || cur.value === '' : !isSet;
  if (cur.tainted && m[3] !== '+') return cur;
  const word = (): Expansion => expandText(m[4]!, env);
  switch (m[3]) {
    case '-':
      return useAlt ? word() : cur;
    case '=': {
      if (!useAlt) return cur;
      const w = word();
      return { ...w, sets: [...w.sets, [name, w.value]] };
    }
    case '+':
      return useAlt ? { value: '', sets: [] } : word();
    default:
      return useAlt ? { value: '', tainted: `${shorten(raw)} would stop the script`, sets: [] } : cur;
  }
}

/** Value of a variable; names assigned from unknown values taint. */
function lookup(name: string, env: ShellEnv): Expansion {
  const key = env.lookupName(name);
  if (env.unknown.has(key)) return { value: '', tainted: `$${name} has a value that was not evaluated`, sets: [] };
  return { value: env.vars.get(key) ?? '', sets: [] };
}

/** Expands `$X` and `${X}` inside the word of `${X:-word}`; quotes are removed, substitutions taint. */
function expandText(text: string, env: ShellEnv): Expansion {
  if (/\$\(|`/.test(text)) return { value: '', tainted: `command substitution in ${shorten(text)} is never run`, sets: [] };
  let tainted: string | undefined;
  const value = text
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a: string | undefined, b: string | undefined) => {
      const r = lookup((a ?? b)!, env);
      tainted ??= r.tainted;
      return r.value;
    })
    .replace(/^(["'])([\s\S]*)\1$/, '$2');
  return tainted ? { value, tainted, sets: [] } : { value, sets: [] };
}

/** Evaluates `[ ... ]` / `test ...` when it is one of -z, -n, ! -z, ! -n, a bare word, = or !=; undefined when not understood. */
export function evaluateTest(words: readonly Word[], env: ShellEnv): { result?: boolean; sets: [string, string][] } {
  let args = words.slice(1);
  if (words[0]?.plain === '[' || words[0]?.plain === '[[') {
    const closer = words[0].plain === '[' ? ']' : ']]';
    if (args[args.length - 1]?.plain !== closer) return { sets: [] };
    args = args.slice(0, -1);
  } else if (words[0]?.plain !== 'test') return { sets: [] };
  let negate = false;
  if (args[0]?.plain === '!') { negate = true; args = args.slice(1); }
  const ex = args.map((w) => expandWord(w, env));
  const sets = ex.flatMap((e) => e.sets);
  if (ex.some((e) => e.tainted)) return { sets };
  const ops = args.map((w) => w.plain);
  let result: boolean | undefined;
  if (args.length === 1) result = ex[0]!.value !== '';
  else if (args.length === 0) result = false;
  else if (args.length === 2 && ops[0] === '-z') result = ex[1]!.value === '';
  else if (args.length === 2 && ops[0] === '-n') result = ex[1]!.value !== '';
  else if (args.length === 3 && (ops[1] === '=' || ops[1] === '==')) result = ex[0]!.value === ex[2]!.value;
  else if (args.length === 3 && ops[1] === '!=') result = ex[0]!.value !== ex[2]!.value;
  return result === undefined ? { sets } : { result: negate ? !result : result, sets };
}

/** Shortens text for a warning. */
export function shorten(text: string, max = 40): string {
  // eslint-disable-next-line no-control-regex
  const t = text.replace(/[\x00-\x1f\x7f]/g, '?');
  return t.length > max ? t.slice(0, max - 3) + '...' : t;
}
