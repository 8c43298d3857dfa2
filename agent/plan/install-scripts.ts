// Which pre-install / post-install scripts of the scripts directory run, and in what order (SPEC 6).

import { isSafeName, uniqueNames } from './hostname.js';

/** What the selection depends on. */
export interface InstallScriptOpts {
  imageName?: string;
  baseHostname?: string;
  groups: readonly string[];
  hostname?: string;
}

/** A file of the directory that was not selected although it looks like a script, and why. */
export interface SkippedScript {
  name: string;
  reason: string;
}

/** The selection and the files left out on purpose (for the log). */
export interface InstallScriptSelection {
  selected: string[];
  skipped: SkippedScript[];
}

const SCRIPT_NAME = /^[0-9]{2}(.+)$/;

/** Tags in run order: `all`, IMAGENAME, BASE_HOSTNAME, each group, HOSTNAME (empty ones dropped). */
export function installScriptTags(opts: InstallScriptOpts): string[] {
  return uniqueNames(['all', opts.imageName ?? '', opts.baseHostname ?? '', ...opts.groups, opts.hostname ?? '']);
}

/** Selects the scripts to run, in order: by tag, sorted (C order) within a tag, each once; backups, dotfiles and odd names skipped. */
export function selectInstallScripts(fileNames: readonly string[], opts: InstallScriptOpts): string[] {
  return selectInstallScriptsDetailed(fileNames, opts).selected;
}

/** As selectInstallScripts, and also reports why each NN-named file was left out. */
export function selectInstallScriptsDetailed(fileNames: readonly string[], opts: InstallScriptOpts): InstallScriptSelection {
  const skipped: SkippedScript[] = [];
  const usable: string[] = [];
  for (const name of new Set(fileNames)) {
    if (!SCRIPT_NAME.test(name)) continue; // dotfiles, variables.txt, README...: not scripts, nothing to say
    if (name.endsWith('~')) skipped.push({ name, reason: 'editor backup (~)' });
    else if (!isSafeName(name)) skipped.push({ name, reason: 'not a safe file name (letters, digits, ._+- only)' });
    else usable.push(name);
  }
  const sorted = usable.sort(compareBytes);
  const chosen = new Set<string>();
  const selected: string[] = [];
  for (const tag of installScriptTags(opts)) {
    // `NN<tag>.<anything>` as BOEL's `grep "^[0-9][0-9]${TAG}\..*"`, but the tag compared literally.
    const prefixLen = 2 + tag.length;
    for (const name of sorted) {
      if (chosen.has(name)) continue;
      if (name.slice(2, prefixLen) === tag && name[prefixLen] === '.') {
        chosen.add(name);
        selected.push(name);
      }
    }
  }
  for (const name of sorted) {
    if (!chosen.has(name) && !/^[0-9]{2}[^.]*\./.test(name)) skipped.push({ name, reason: 'no `.` after the tag (expected NNtag.anything)' });
  }
  return { selected, skipped };
}

/** Byte order, as `ls` in the C locale that BOEL ran in. */
function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
