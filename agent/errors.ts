// Error classes with stable codes; every failure explains itself.

export type ErrorCode =
  | 'E_PARAM'
  | 'E_LAYOUT'
  | 'E_COMMAND'
  | 'E_TRANSFER'
  | 'E_TIMEOUT'
  | 'E_SCRIPT'
  | 'E_DISK'
  | 'E_TARGET'
  | 'E_SERVER'
  | 'E_NETWORK'
  | 'E_SSH'
  | 'E_USAGE'
  | 'E_INTERNAL';

/** Base class: a stable code, a human message, an optional cause and detail lines. */
export class SiError extends Error {
  readonly code: ErrorCode;
  readonly details: string[];
  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; details?: string[] } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SiError';
    this.code = code;
    this.details = opts.details ?? [];
  }
}

/** One problem in the parameters or layout, naming where it came from. */
export interface Problem {
  source: string; // e.g. "cmdline", "local.cfg:/local.cfg:12", "layout:disks-layouts/x.xml"
  key: string;
  message: string;
}

/** Formats one problem as `source KEY: message`. */
export function formatProblem(p: Problem): string {
  return `${p.source} ${p.key}: ${p.message}`;
}

/** Bad parameters: carries every problem found, not just the first. */
export class ParamError extends SiError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super('E_PARAM', problems.length === 1 ? formatProblem(problems[0]!) : `${problems.length} problems in the parameters:\n` + problems.map((p) => '  ' + formatProblem(p)).join('\n'));
    this.name = 'ParamError';
    this.problems = problems;
  }
}

/** Bad disk layout or a layout that does not fit the disks found. */
export class LayoutError extends SiError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super('E_LAYOUT', problems.length === 1 ? formatProblem(problems[0]!) : `${problems.length} problems in the disk layout:\n` + problems.map((p) => '  ' + formatProblem(p)).join('\n'));
    this.name = 'LayoutError';
    this.problems = problems;
  }
}

/** An external command that failed: first line names tool, exit code and argv. */
export class CommandError extends SiError {
  readonly argv: string[];
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  constructor(argv: string[], exitCode: number | null, signal: string | null, stdout: string, stderr: string, timedOut = false, spawnError?: string) {
    const tool = argv[0]!.split('/').pop();
    const why = spawnError
      ? `could not be started (${spawnError})`
      : timedOut
        ? `timed out${signal ? ` (killed by ${signal})` : ''}`
        : exitCode === null
          ? `was killed by ${signal}`
          : `failed with exit code ${exitCode}`;
    const tail = lastLines(stderr.trim() ? stderr : stdout, 15);
    super(timedOut ? 'E_TIMEOUT' : 'E_COMMAND', `${tool} ${why}: ${quoteArgv(argv)}`, { details: tail });
    this.name = 'CommandError';
    this.argv = argv;
    this.exitCode = exitCode;
    this.signal = signal;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/** Last n non-empty lines of a text. */
export function lastLines(text: string, n: number): string[] {
  return text.split('\n').filter((l) => l.trim() !== '').slice(-n);
}

/** Renders an argv for humans (quoted where needed); never passed to a shell. */
export function quoteArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Adds a layer of context to an error while keeping its code. */
export function withContext(err: unknown, context: string): SiError {
  if (err instanceof SiError) {
    const e = new SiError(err.code, `${context}: ${err.message}`, { cause: err, details: err.details });
    return e;
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new SiError('E_INTERNAL', `${context}: ${msg}`, { cause: err });
}
