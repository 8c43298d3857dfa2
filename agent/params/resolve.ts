// One call from raw sources (cmdline text, local.cfg texts, DHCP) to validated parameters.

import type { Problem } from '../errors.js';
import type { Assignment, Params } from './types.js';
import { parseCmdline } from './cmdline.js';
import { parseLocalCfg } from './local-cfg.js';
import { applyAssignments, mergeStandard } from './merge.js';
import { checkValue, parseBoolWord, validateParams } from './validate.js';

export interface ResolveInput {
  cmdlineText: string;
  localCfgs: { file: string; text: string }[]; // in the order found (SPEC 2): later wins
  dhcp?: Assignment[];
}

export interface Resolved {
  params: Params;
  problems: Problem[]; // parse and validation problems, all of them; any one is fatal
  notes: string[]; // things worth logging (skipped local.cfg, ignored words)
}

/** Parses every source, merges them by precedence and validates the result. */
export function resolveParamsFromSources(input: ResolveInput): Resolved {
  const problems: Problem[] = [];
  const notes: string[] = [];
  const cmdline = parseCmdline(input.cmdlineText);
  problems.push(...cmdline.problems);
  notes.push(...cmdline.notes);
  const localCfgs: Assignment[][] = [];
  if (isSkipLocalCfg(cmdline.assignments)) {
    if (input.localCfgs.length > 0) {
      notes.push(`SKIP_LOCAL_CFG is set on the command line: not applying ${input.localCfgs.map((c) => c.file).join(', ')}`);
    } else {
      notes.push('SKIP_LOCAL_CFG is set on the command line: local.cfg files are not applied');
    }
  } else {
    for (const cfg of input.localCfgs) {
      const parsed = parseLocalCfg(cfg.text, cfg.file);
      problems.push(...parsed.problems);
      localCfgs.push(parsed.assignments);
    }
  }
  const params = mergeStandard({ cmdline: cmdline.assignments, localCfgs, dhcp: input.dhcp ?? [] });
  problems.push(...validateParams(params));
  return { params, problems, notes };
}

/** True when the last SKIP_LOCAL_CFG on the command line is a true boolean. */
function isSkipLocalCfg(cmdline: Assignment[]): boolean {
  const last = cmdline.filter((a) => a.name === 'SKIP_LOCAL_CFG').pop();
  return last !== undefined && parseBoolWord(last.value) === true;
}

/** Returns a new map with a later layer (script or pre-install variables) applied over params. */
export function applyLayer(params: Params, assignments: readonly Assignment[]): Params {
  return applyAssignments(params, assignments);
}

/** Applies a layer and validates only the values it brought, naming their sources. */
export function applyCheckedLayer(params: Params, assignments: readonly Assignment[]): { params: Params; problems: Problem[] } {
  const problems: Problem[] = [];
  for (const a of assignments) {
    const why = checkValue(a.name, a.value);
    if (why) problems.push({ source: a.source, key: a.name, message: `${JSON.stringify(a.value)} ${why}` });
  }
  return { params: applyAssignments(params, assignments), problems };
}
