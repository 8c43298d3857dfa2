// The agent's modules import one way: no circle of imports, type-only imports included (a circle of types is the
// first step to one of values, and it ties two files' reasons to change together).

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const AGENT = resolve(import.meta.dirname, '../../../agent');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Relative imports and re-exports of one file, as the files they name. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.{1,2}\/[^']+)'/gm)) out.push(normalize(join(dirname(file), m[1]!.replace(/\.js$/, '.ts'))));
  return out;
}

/** Every circle found by a depth-first walk, each as the files in order. */
function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string) => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 'open') cycles.push(stack.slice(stack.indexOf(m)));
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return cycles;
}

describe('imports in agent/', () => {
  it('finds a circle when there is one (the check can fail)', () => {
    expect(findCycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c']]);
    expect(findCycles(new Map([['a', ['b']], ['b', []]]))).toEqual([]);
  });

  it('form no circle', () => {
    const graph = new Map(sources(AGENT).map((f) => [f, importsOf(f)]));
    expect(graph.size).toBeGreaterThan(100);
    const named = findCycles(graph).map((c) => c.map((f) => relative(AGENT, f)).join(' -> '));
    expect(named).toEqual([]);
  });
});
