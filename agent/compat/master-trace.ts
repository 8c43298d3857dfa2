// Follows a master's `sh -x` trace (`+si <file>:<line>: <command>`) so a failure names the master's line and command.

/** One traced command. */
export interface TracedCommand {
  file: string;
  line: number;
  command: string;
}

const TRACE = /^\++si (\S+):(\d*): (.*)$/;

/** Parses one stderr line; null when it is not a trace line (the master's own error output). */
export function parseTraceLine(text: string): TracedCommand | null {
  const m = TRACE.exec(text);
  if (!m) return null;
  return { file: m[1]!, line: m[2] ? Number(m[2]) : 0, command: m[3]! };
}

/** Longest command kept for a report (a heredoc or a long rsync line is cut). */
const MAX_COMMAND = 300;

/**
 * Keeps what a failure report needs: the master's last commands (not the functions file's), and the command that
 * was traced just before `shellout` was called from the master.
 */
export class MasterTrace {
  private last: TracedCommand | undefined;
  private beforeShellout: TracedCommand | undefined;
  private lines = 0;

  constructor(private readonly masterFile: string) {}

  /** Takes one trace line; returns it parsed, or null when it is not one. */
  feed(text: string): TracedCommand | null {
    const t = parseTraceLine(text);
    if (!t) return null;
    this.lines++;
    if (t.file !== this.masterFile) return t;
    if (/^shellout(\s|$)/.test(t.command)) {
      // `cmd || shellout` traces cmd, then shellout: the failed command is the master's command before it.
      this.beforeShellout ??= this.last;
    } else this.last = t;
    return t;
  }

  /** Number of trace lines seen. */
  get traced(): number {
    return this.lines;
  }

  /** The command to blame: the one before shellout when shellout was called, else the master's last command. */
  culprit(): TracedCommand | undefined {
    return this.beforeShellout ?? this.last;
  }
}

/** The report's first line for a master that failed: its file and line, the command, and the status. */
export function describeMasterFailure(script: string, culprit: TracedCommand | undefined, how: string): string {
  if (!culprit) return `the autoinstall script ${script} failed before running a command (${how})`;
  const cmd = culprit.command.length > MAX_COMMAND ? culprit.command.slice(0, MAX_COMMAND) + '...' : culprit.command;
  const where = culprit.line > 0 ? `${script}:${culprit.line}` : script;
  return `the autoinstall script failed at ${where}: ${cmd} (${how})`;
}
