// The list of override directories copied over the image, in the order they are applied (later wins).

import { SiError } from '../errors.js';
import { clipForMessage, isSafeName } from './hostname.js';

/** What the override list depends on. */
export interface OverrideOpts {
  /** OVERRIDES as assigned by the autoinstall script (already expanded), space-separated; undefined when the script sets none. */
  scriptOverrides?: string | readonly string[];
  /** The script's name without `.sh` / `.master` (4.3 master scripts name the image's own override so). */
  scriptName: string;
  groupOverrides: readonly string[];
  globalOverrides: readonly string[];
  hostname?: string;
}

/**
 * The overrides to apply, in application order (each one copied over the previous: later wins).
 *
 * Default, when the script sets no OVERRIDES: `<scriptname> $GROUP_OVERRIDES $HOSTNAME`
 * (SPEC 5, and what si_mkautoinstallscript 4.3 writes). GROUP_OVERRIDES in 4.3 BOEL is
 * "global overrides, then group overrides" (SPEC 4: global ones first, least important
 * of the cluster's), so the default is: script name, global, group (least to most
 * important), hostname. The global overrides do not go before the script name: the
 * manual's hierarchy is global < group < node, and the script's own override is the
 * image's base layer, which the cluster configuration refines.
 *
 * When the script sets OVERRIDES it is taken as written: a script that wants the
 * cluster's overrides says `$GROUP_OVERRIDES`, which the script reader expands.
 *
 * A name listed twice is applied once, at its last (most important) place: applying
 * it twice would leave its files on top from its last place anyway.
 * A name that is not a safe path component is an error naming where it came from.
 */
export function resolveOverrides(opts: OverrideOpts): string[] {
  const tagged: Array<{ name: string; from: string }> = [];
  if (opts.scriptOverrides !== undefined) {
    for (const name of splitWords(opts.scriptOverrides)) tagged.push({ name, from: `OVERRIDES of script ${opts.scriptName}` });
  } else {
    tagged.push({ name: opts.scriptName, from: 'the script name' });
    for (const name of opts.globalOverrides) tagged.push({ name, from: 'the global overrides of cluster.txt' });
    for (const name of opts.groupOverrides) tagged.push({ name, from: 'the group overrides of cluster.txt' });
    if (opts.hostname) tagged.push({ name: opts.hostname, from: 'HOSTNAME' });
  }
  const named = tagged.filter((t) => t.name !== '');
  for (const t of named) {
    if (!isSafeName(t.name)) {
      throw new SiError('E_PARAM', `override ${clipForMessage(t.name)} (from ${t.from}) is not a valid override name (letters, digits, ._+- only, no slash, no leading dot or dash)`);
    }
  }
  return keepLast(named.map((t) => t.name));
}

/** Splits an OVERRIDES value on whitespace; arrays are split too, so `['a b']` gives `['a', 'b']`. */
export function splitWords(value: string | readonly string[]): string[] {
  const parts = typeof value === 'string' ? [value] : value;
  return parts.flatMap((p) => p.split(/\s+/)).filter((w) => w !== '');
}

function keepLast(names: readonly string[]): string[] {
  const last = new Map<string, number>();
  names.forEach((n, i) => last.set(n, i));
  return names.filter((n, i) => last.get(n) === i);
}
