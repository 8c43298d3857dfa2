// Runs the bundled agent (dist/si-agent.cjs) as a separate process, the way an operator would.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const AGENT = resolve(__dirname, '../../../dist/si-agent.cjs');

export interface AgentRun {
  code: number | null;
  stdout: string;
  stderr: string;
  events: Array<Record<string, unknown>>;
}

/** Runs `si-agent <args>`; events are read back from the --events file when one is given. */
export async function runAgent(args: string[], opts: { env?: NodeJS.ProcessEnv; eventsFile?: string; timeoutMs?: number } = {}): Promise<AgentRun> {
  if (!existsSync(AGENT)) throw new Error(`${AGENT} is missing: run npm run build first`);
  const child = spawn(process.execPath, [AGENT, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  clearTimeout(timer);
  const events = opts.eventsFile && existsSync(opts.eventsFile)
    ? readFileSync(opts.eventsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];
  return { code, stdout, stderr, events };
}
