// Reads files of fixtures/scripts/ for the unit tests.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

// __dirname, not import.meta: the package is CommonJS to tsc (no "type": "module"), and vitest provides it.
const DIR = join(__dirname, '../../../fixtures/scripts/');

/** Text of fixtures/scripts/<rel>. */
export function readFixture(rel: string): string {
  return readFileSync(DIR + rel, 'utf8');
}

/** Names of the files in fixtures/scripts/<rel> ending in suffix. */
export function listFixtures(rel: string, suffix: string): string[] {
  return readdirSync(DIR + rel).filter((n) => n.endsWith(suffix)).sort();
}
