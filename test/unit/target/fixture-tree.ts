// Copies a fixtures/target/ tree into a temp dir for a test, and builds Params for the target tests.

import { cpSync, mkdtempSync, readFileSync, rmSync, existsSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Params } from '../../../agent/params/types.js';

const DIR = join(__dirname, '../../../fixtures/target');

/** A fresh copy of fixtures/target/<name>, with helpers to read it back and remove it. */
export function copyFixtureTree(name: string) {
  const root = mkdtempSync(join(tmpdir(), `si-target-${name}-`));
  cpSync(join(DIR, name), root, { recursive: true, verbatimSymlinks: true });
  return {
    root,
    read: (p: string) => readFileSync(join(root, p), 'utf8'),
    exists: (p: string) => existsSync(join(root, p)),
    isLink: (p: string) => lstatSync(join(root, p)).isSymbolicLink(),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Params from NAME=value pairs, all from the command line unless `source` says otherwise. */
export function paramsOf(values: Record<string, string>, sources: Record<string, string> = {}): Params {
  return new Map(Object.entries(values).map(([k, v]) => [k, { value: v, source: sources[k] ?? 'cmdline' }]));
}
