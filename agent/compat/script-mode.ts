// Which way the chosen autoinstall script is used (SPEC 5, SCRIPT_MODE): run as 4.3's BOEL did, or read for its variables.

export type ScriptMode = 'run' | 'read';

export interface ScriptModeChoice {
  mode: ScriptMode;
  /** Why, for the log, the plan and `plan --json`. */
  reason: string;
}

/** Decides the mode from SCRIPT_MODE (auto, run, read; unset means auto) and whether the script is a 4.3 master. */
export function chooseScriptMode(setting: string | undefined, master: boolean, script: string): ScriptModeChoice {
  const asked = setting ?? 'auto';
  if (asked === 'run') return { mode: 'run', reason: `SCRIPT_MODE=run: ${script} runs as the install` };
  if (asked === 'read') {
    return { mode: 'read', reason: master ? `SCRIPT_MODE=read: ${script} is a 4.3 master, read for its variables only` : `SCRIPT_MODE=read: ${script} is read for its variables` };
  }
  return master
    ? { mode: 'run', reason: `SCRIPT_MODE=auto: ${script} sources /etc/init.d/functions (a SystemImager 4.3 master that does the install itself), so it runs` }
    : { mode: 'read', reason: `SCRIPT_MODE=auto: ${script} does not source /etc/init.d/functions, so it is read for its variables and the agent installs from the layout` };
}
