// Which autoinstall script of the scripts directory this client uses (SPEC 5).

import { SiError } from '../errors.js';
import { clipForMessage, isSafeName, uniqueNames } from './hostname.js';

/** What the script choice depends on. */
export interface ScriptChoiceOpts {
  scriptName?: string;
  hostname?: string;
  groups: readonly string[];
  baseHostname?: string;
  imageName?: string;
}

/** The chosen script and every name looked at before it (for the log). */
export interface ScriptChoice {
  name: string;
  tried: string[];
}

/** The names that identify this client, most specific first: HOSTNAME, each group, BASE_HOSTNAME, IMAGENAME (unique, non-empty). */
export function namesByPrecedence(opts: Omit<ScriptChoiceOpts, 'scriptName'>): string[] {
  return uniqueNames([opts.hostname ?? '', ...opts.groups, opts.baseHostname ?? '', opts.imageName ?? '']);
}

/** Candidate script file names in order; names that are not safe path components are left out (see unsafeNames). */
export function scriptCandidates(opts: ScriptChoiceOpts): string[] {
  if (opts.scriptName) {
    return isSafeName(opts.scriptName) ? [opts.scriptName, `${opts.scriptName}.sh`, `${opts.scriptName}.master`] : [];
  }
  return namesByPrecedence(opts)
    .filter(isSafeName)
    .flatMap((x) => [`${x}.sh`, `${x}.master`]);
}

/** The names scriptCandidates left out because they could escape the scripts directory or are not names at all. */
export function unsafeNames(opts: ScriptChoiceOpts): string[] {
  const names = opts.scriptName ? [opts.scriptName] : namesByPrecedence(opts);
  return names.filter((n) => !isSafeName(n));
}

/** Picks the first candidate that exists; throws E_PARAM when nothing names the client, E_SCRIPT listing every name tried when none exists. */
export function chooseScript(opts: ScriptChoiceOpts, exists: (name: string) => boolean): ScriptChoice {
  if (opts.scriptName !== undefined && opts.scriptName !== '' && !isSafeName(opts.scriptName)) {
    throw new SiError('E_PARAM', `SCRIPTNAME ${clipForMessage(opts.scriptName)} is not a valid script name (letters, digits, ._+- only, no slash, no leading dot or dash)`);
  }
  if (!opts.scriptName && !opts.imageName && !opts.hostname) {
    throw new SiError(
      'E_PARAM',
      'cannot choose an autoinstall script: none of SCRIPTNAME, IMAGENAME, HOSTNAME is known ' +
        '(set SCRIPTNAME or IMAGENAME on the kernel command line or in local.cfg, or list this client\'s IP in the image server\'s scripts/hosts)',
    );
  }
  const candidates = scriptCandidates(opts);
  const tried: string[] = [];
  for (const name of candidates) {
    tried.push(name);
    if (exists(name)) return { name, tried };
  }
  const skipped = unsafeNames(opts);
  const details = skipped.length === 0 ? [] : [`names left out because they are not safe file names: ${skipped.map((n) => clipForMessage(n)).join(', ')}`];
  throw new SiError(
    'E_SCRIPT',
    `no autoinstall script found in the image server's scripts directory; tried: ${tried.length === 0 ? '(nothing to try)' : tried.join(', ')}. ` +
      'Create one of them there (see si_mkautoinstallscript(8)).',
    { details },
  );
}
