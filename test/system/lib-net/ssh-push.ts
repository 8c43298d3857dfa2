// The image server's side of server-driven SSH (SSHD=y) for the system tests: OpenSSH's ssh as si_pushinstall runs it.

import { spawn } from 'node:child_process';

/** ssh with the key by path, no known_hosts (the agent's host keys are new each boot), never a prompt. */
export function sshArgv(keyFile: string, args: string[]): string[] {
  return ['ssh', '-i', keyFile, '-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=30', ...args];
}

/**
 * What si_pushinstall runs against one host (an IPv6 literal as it is, no brackets): a remote forward of the image
 * server's rsync daemon, then the marker command, held open until the install ends. ExitOnForwardFailure makes a
 * refused forward end ssh at once instead of leaving a session with no forward.
 */
export function pushArgv(keyFile: string, host: string, forward = '873:localhost:873'): string[] {
  return sshArgv(keyFile, ['-o', 'ServerAliveInterval=60', '-o', 'ExitOnForwardFailure=yes', '-l', 'root', '-n', '-R', forward, host, 'sleep 100000 > /tmp/si_pushupdate.completed']);
}

export interface SshResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs ssh in namespace ns and waits for it, without blocking the event loop (the agent's output keeps draining). */
export async function sshIn(ns: string, keyFile: string, args: string[], timeoutMs = 60_000): Promise<SshResult> {
  const child = spawn('ip', ['netns', 'exec', ns, ...sshArgv(keyFile, args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const status = await new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  clearTimeout(timer);
  return { status, stdout, stderr };
}
