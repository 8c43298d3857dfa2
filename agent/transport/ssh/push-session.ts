// One SSH session on the agent's SSH server: si_pushinstall's marker command, or an operator's command or shell.

import type { ServerChannel, Session } from 'ssh2';
import { startOperatorSession } from '../../exec/operator-session.js';
import type { Reporter } from '../../report/events.js';

export interface SessionOptions {
  who: string;
  report: Reporter;
  /** The command that says the image server's forward is up. */
  marker: RegExp;
  onMarker(command: string): void;
}

/** Serves one session: the marker command is held open (never run); anything else runs as root for the operator. */
export function handleSession(session: Session, o: SessionOptions): void {
  let pty = false;
  const env: Record<string, string> = {};
  session.on('pty', (accept) => {
    pty = true;
    accept?.();
  });
  session.on('env', (accept, _reject, info) => {
    if (/^(LANG|LC_[A-Z]+|TERM)$/.test(info.key)) env[info.key] = info.val;
    accept?.();
  });
  session.on('exec', (accept, _reject, info) => {
    const channel = accept();
    if (o.marker.test(info.command)) {
      // Like `sleep 100000`: the channel stays open, output nothing, until the install ends and the server stops.
      channel.on('data', () => undefined);
      o.onMarker(info.command);
      return;
    }
    runFor(channel, info.command, pty, env, o);
  });
  session.on('shell', (accept) => runFor(accept(), null, true, env, o));
}

/** Joins an operator's process to the channel and reports its exit status back. */
function runFor(channel: ServerChannel, command: string | null, pty: boolean, env: Record<string, string>, o: SessionOptions): void {
  const child = startOperatorSession({ command, pty, who: o.who, env }, o.report);
  channel.pipe(child.stdin!);
  child.stdout!.pipe(channel, { end: false });
  child.stderr!.pipe(channel.stderr, { end: false });
  child.stdin!.on('error', () => undefined);
  channel.on('close', () => child.kill('SIGHUP'));
  child.on('error', (err) => {
    channel.stderr.write(`${err.message}\n`);
    channel.exit(127);
    channel.end();
  });
  child.on('close', (code, signal) => {
    if (signal) channel.exit(signal.replace(/^SIG/, ''), false, '');
    else channel.exit(code ?? 0);
    channel.end();
  });
}
