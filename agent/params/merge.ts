// Merges tagged assignments from every source into one parameter map, by the documented precedence.

import type { Assignment, Params } from './types.js';
import { PARAMS } from './names.js';

/** The defaults of SPEC 2, tagged with source "default". */
export function withDefaults(): Params {
  const params: Params = new Map();
  for (const spec of PARAMS) {
    if (spec.default !== undefined) params.set(spec.name, { value: spec.default, source: 'default' });
  }
  return params;
}

/** Defaults first, then each layer in order; within and across layers a later assignment wins. */
export function mergeParams(layers: Assignment[][]): Params {
  let params = withDefaults();
  for (const layer of layers) params = applyAssignments(params, layer);
  return params;
}

/** Returns a new map: params with the assignments applied over it (later wins). */
export function applyAssignments(params: Params, assignments: readonly Assignment[]): Params {
  const out: Params = new Map(params);
  for (const a of assignments) out.set(a.name, { value: a.value, source: a.source });
  return out;
}

export interface StandardSources {
  cmdline: Assignment[];
  localCfgs: Assignment[][]; // in the order they were found: later wins
  dhcp?: Assignment[];
}

/**
 * Applies the agent's precedence, low to high: default, DHCP, each local.cfg in
 * order, kernel command line (SPEC 1 steps 3-4: "cmdline -> local.cfg -> cmdline
 * again", and DHCP answers overridden by local.cfg, then by the command line).
 */
export function mergeStandard(sources: StandardSources): Params {
  return mergeParams([sources.dhcp ?? [], ...sources.localCfgs, sources.cmdline]);
}
