// Commands an operator runs over the agent's SSH server (SSHD=y): the one place a command string reaches a shell.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Reporter } from '../report/events.js';
import { toolPath } from './tools.js';

export interface OperatorSession {
  /** The operator's command line, or null for a login shell. */
  command: string | null;
  /** A pty was asked for (`ssh -t`, or an interactive login). */
  pty: boolean;
  /** Who asked (key fingerprint and comment), for the log. */
  who: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Starts an operator's command as root, as SystemImager 4.3's sshd in the initrd allowed. The string goes to /bin/sh
 * on purpose: an authenticated operator typed it, exactly as into a login shell; nothing from parameters, DHCP or
 * the image server is ever run this way. With a pty, util-linux `script` provides the terminal.
 */
export function startOperatorSession(s: OperatorSession, report: Reporter): ChildProcess {
  report.info(`SSH operator ${s.who}: ${s.command === null ? 'login shell' : `runs ${JSON.stringify(s.command)}`}${s.pty ? ' (pty)' : ''}`);
  const env = { ...process.env, HOME: '/root', SHELL: toolPath('sh'), TERM: 'vt100', ...s.env };
  const cmd = s.command ?? `exec ${toolPath('sh')} -i`;
  const [file, args] = s.pty ? [toolPath('script'), ['-q', '-e', '-f', '-c', cmd, '/dev/null']] : [toolPath('sh'), ['-c', cmd]];
  return spawn(file, args, { shell: false, cwd: '/', env, stdio: ['pipe', 'pipe', 'pipe'] });
}
