// What a 4.3 master does besides assigning variables: its post-install action, the values it appends to
// variables.txt, and the commands the agent will not run when it only reads the script (SPEC 5, read mode).

import type { Word } from './shell-lex.js';

/** One logical line of the script that runs a command (not only assignments, tests or block keywords). */
export interface ScriptCommandLine {
  line: number;
  text: string;
}

/** The files a 4.3 master sources; a script sourcing the functions file does the install itself. */
export const FUNCTIONS_FILE = '/etc/init.d/functions';
export const VARIABLES_FILE = '/tmp/variables.txt';

/** Commands that only print or set up the shell: not worth naming among the commands not run. */
const QUIET = new Set(['logmsg', 'echo', 'printf', 'get_arch', ':', 'true', 'exit', 'return', 'set', 'unset', 'export', 'readonly', 'local']);

/** The command name of a command's words, without a leading `exec` or directory (`/sbin/shutdown` -> shutdown). */
function commandName(words: readonly Word[]): { name?: string; args: readonly Word[] } {
  let w = words;
  if (w[0]?.plain === 'exec' || w[0]?.plain === 'command') w = w.slice(1);
  const name = w[0]?.plain?.replace(/^.*\//, '');
  return { name, args: w.slice(1) };
}

/**
 * The POST_ACTION a command performs, as the final block of a master does (MASTER-43 step 15):
 * `beep_incessantly` -> beep, `shutdown -r` / `reboot` / `init 6` -> reboot, `shutdown` without `-r` /
 * `poweroff` / `halt` / `init 0` -> shutdown, `kexec` that boots (`-e`, `-f`, `--force`, or a kernel
 * without `-l`) -> kexec. Undefined for any other command (`beep 3`, `kexec -l k`, `shutdown -c`).
 */
export function postActionOf(words: readonly Word[]): string | undefined {
  const { name, args } = commandName(words);
  const flags = args.map((a) => a.plain ?? '');
  const has = (re: RegExp): boolean => flags.some((f) => re.test(f));
  switch (name) {
    case 'beep_incessantly':
      return 'beep';
    case 'reboot':
      return 'reboot';
    case 'poweroff':
    case 'halt':
      return 'shutdown';
    case 'init':
      return flags[0] === '6' ? 'reboot' : flags[0] === '0' ? 'shutdown' : undefined;
    case 'shutdown':
      if (has(/^-[a-zA-Z]*c/) || has(/^--cancel$/)) return undefined;
      return has(/^-[a-zA-Z]*r/) || has(/^--reboot$/) ? 'reboot' : 'shutdown';
    case 'kexec':
      if (has(/^(-e|--exec|-f|--force)$/)) return 'kexec';
      if (has(/^(-l|--load|-p|--load-panic|-u|--unload)$/)) return undefined;
      return args.some((a) => a.plain === undefined || !a.plain.startsWith('-')) ? 'kexec' : undefined;
    default:
      return undefined;
  }
}

/** True for `. FILE` / `source FILE` with that file. */
export function sourcesFile(words: readonly Word[], file: string): boolean {
  return (words[0]?.plain === '.' || words[0]?.plain === 'source') && words.length === 2 && words[1]!.parts.map((p) => (p.kind === 'lit' ? p.text : '\0')).join('') === file;
}

/** The word echoed to variables.txt by `echo WORD >> /tmp/variables.txt` (the master's IP_ASSIGNMENT_METHOD line), else undefined. */
export function variablesTxtAppend(words: readonly Word[]): Word | undefined {
  const { name, args } = commandName(words);
  if (name !== 'echo' || args.length !== 3) return undefined;
  const op = args[1]!.plain;
  const target = args[2]!.parts.map((p) => (p.kind === 'lit' ? p.text : '\0')).join('');
  return (op === '>>' || op === '>') && target === VARIABLES_FILE ? args[0] : undefined;
}

/** True when this command would do something the agent does not do in read mode (not a quiet print, a test or a source). */
export function isWorkCommand(words: readonly Word[]): boolean {
  const { name } = commandName(words);
  if (name === undefined) return words.length > 0;
  if (name === '[' || name === '[[' || name === 'test') return false;
  if (name === '.' || name === 'source') return false;
  // A quiet command still counts when it writes somewhere (the hand edit `echo marker > /a/root/x`).
  if (QUIET.has(name)) return words.some((w) => w.plain !== undefined && /^\d*>/.test(w.plain));
  return true;
}

const SHOWN = 5;

/** The read-mode warning for a 4.3 master: the script, how many command lines it has that will not run, and the first few. */
export function formatIgnoredCommands(scriptName: string, commands: readonly ScriptCommandLine[]): string {
  const head = `script ${scriptName} is a SystemImager 4.3 master (it sources ${FUNCTIONS_FILE}); read mode takes only its variables and post-install action: ` +
    `${commands.length} command line${commands.length === 1 ? '' : 's'} of it will not run, hand edits included; the install follows the layout file`;
  const shown = commands.slice(0, SHOWN).map((c) => `  script:${scriptName}:${c.line}: ${c.text.length > 120 ? c.text.slice(0, 117) + '...' : c.text}`);
  const more = commands.length > SHOWN ? [`  ... and ${commands.length - SHOWN} more`] : [];
  return [head, ...shown, ...more].join('\n');
}
