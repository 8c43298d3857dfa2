// Run mode (SPEC 5): the site's 4.3 master runs as the install, as BOEL ran it, with the agent around it.
//
// The agent has done what BOEL's rcS did first (parameters, network, monitor, scripts, host name, pre-install
// scripts, script choice). It writes /tmp/variables.txt, then runs the master with bash in POSIX mode from `/`
// (bash because Debian's dash has no LINENO: the trace must name the master's line), its output on the console, in
// the log and (MONITOR_CONSOLE) in /tmp/si_monitor.log, every command traced into the log. The functions hand the
// heavy work back through the call directory (agent/compat/call-dir.ts). The post-install action the master asks
// for is PID 1's, after the master has ended and the agent has reported.

import { copyFileSync, createWriteStream, existsSync, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync, type WriteStream } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { SiError } from '../errors.js';
import { getBool } from '../params/validate.js';
import { systemPaths } from '../exec/tools.js';
import { findProgram } from '../init/find-program.js';
import { serveCalls } from '../compat/call-dir.js';
import { formatMasterVariables } from '../compat/master-variables.js';
import { describeMasterFailure, MasterTrace } from '../compat/master-trace.js';
import { usedBytesUnder } from '../compat/report-task.js';
import { type Ctx, type Step, param, runCleanups, setParam } from './context.js';
import { answerVerb, masterIdleLimitMs, type VerbState } from './master-verbs.js';

/** Splits a stream's chunks into lines, handing each complete one over. */
function lineSplitter(onLine: (line: string) => void): { push: (chunk: string) => void; end: () => void } {
  let rest = '';
  return {
    push(chunk) {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const l of parts) onLine(l.endsWith('\r') ? l.slice(0, -1) : l);
    },
    end() {
      if (rest) onLine(rest);
      rest = '';
    },
  };
}

/** /scripts names the scripts directory, as 4.3's SCRIPTS_DIR did (a link to where the agent fetched it). */
function linkScripts(ctx: Ctx, scriptsDir: string, at: string): void {
  if (scriptsDir === at) return;
  try {
    lstatSync(at);
    return; // the initrd has one already; a master reading it reads what is there
  } catch {
    symlinkSync(scriptsDir, at);
  }
  ctx.report.debug(`${at} -> ${scriptsDir}`);
}

/** The torrents where a 4.3 master looks for them (TORRENTS_DIR=/torrents). */
async function placeTorrents(ctx: Ctx, at: string): Promise<void> {
  const { fetchTorrents } = await import('./bittorrent.js');
  const dir = await fetchTorrents(ctx);
  mkdirSync(at, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.torrent')) copyFileSync(join(dir, f), join(at, f));
}

/** Under SSH the master reaches the rsync daemon as 127.0.0.1:873, 4.3's forward: relayed to the tunnel's end. */
async function relayRsync(ctx: Ctx, toPort: number): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    const up = connect(toPort, '127.0.0.1');
    sockets.add(sock).add(up);
    const drop = () => {
      sock.destroy();
      up.destroy();
    };
    sock.on('error', drop).on('close', drop);
    up.on('error', drop).on('close', drop);
    sock.pipe(up).pipe(sock);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(873, '127.0.0.1', () => resolve());
  });
  ctx.state.cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  ctx.report.info(`rsync for the autoinstall script: 127.0.0.1:873 relayed to the SSH tunnel at 127.0.0.1:${toPort}`);
  return server;
}

/** The shell and its arguments: bash traced through BASH_ENV (it reads no PS4 from the environment as root), else sh -x. */
function masterShell(compatDir: string, scriptPath: string): { shell: string; args: string[]; env: Record<string, string> } {
  const bash = findProgram('bash');
  const envFile = join(compatDir, 'master-env.sh');
  if (bash && existsSync(envFile)) return { shell: bash, args: [scriptPath], env: { BASH_ENV: envFile } };
  return { shell: 'sh', args: ['-x', scriptPath], env: { PS4: '+si - ' } };
}

/** Runs the chosen master to its end; throws the failure report's error when it fails, shells out or hangs. */
export async function runMaster(ctx: Ctx): Promise<void> {
  const paths = systemPaths();
  const file = ctx.state.scriptFile!;
  const scriptsDir = ctx.state.scriptsDir!;
  const scriptPath = join(scriptsDir, file);
  const target = paths.masterTarget;
  mkdirSync(target, { recursive: true });
  linkScripts(ctx, scriptsDir, paths.masterScripts);
  if (getBool(ctx.params, 'BITTORRENT')) await placeTorrents(ctx, paths.masterTorrents);
  const via = ctx.state.rsyncVia;
  if (via && via.port !== 873) await relayRsync(ctx, via.port);
  const live = { IPADDR: ctx.state.clientIp ?? param(ctx, 'IPADDR'), IMAGESERVER: via ? '127.0.0.1' : undefined };
  const variablesPath = join(paths.tmp, 'variables.txt');
  writeFileSync(variablesPath, formatMasterVariables(ctx.params, live), { mode: 0o644 });
  ctx.report.info(`wrote ${variablesPath}; running ${file} (${ctx.state.scriptModeReason ?? 'run mode'})`);

  const trace = new MasterTrace(file);
  const stop = new AbortController();
  const stopMaster = () => stop.abort();
  const vs: VerbState = { ctx, target, requests: { statuses: [], linksDown: [] }, lastTraced: () => trace.culprit(), stopMaster };
  let lastActivity = Date.now();
  const calls = serveCalls(
    paths.masterCalls,
    async (verb, args) => {
      lastActivity = Date.now();
      try {
        return await answerVerb(vs, verb, args);
      } finally {
        lastActivity = Date.now();
      }
    },
    (verb, err) => ctx.report.error(`${verb} for the autoinstall script failed: ${err.message}`),
  );
  const monitorLog: WriteStream | undefined = getBool(ctx.params, 'MONITOR_CONSOLE') ? createWriteStream(join(paths.tmp, 'si_monitor.log'), { flags: 'a' }) : undefined;
  const said = (line: string) => {
    lastActivity = Date.now();
    ctx.report.info(line);
    monitorLog?.write(line + '\n');
  };
  const out = lineSplitter(said);
  const err = lineSplitter((line) => {
    lastActivity = Date.now();
    const t = trace.feed(line);
    if (t) ctx.report.debug(`+ ${t.file}:${t.line || '?'}: ${t.command}`);
    else said(line);
  });

  // A master that makes no progress for SCRIPT_TIMEOUT seconds (no output, no call, no byte under the target) hangs.
  const idleMs = masterIdleLimitMs(ctx);
  let used = usedBytesUnder(target);
  let hung = false;
  const watchdog = setInterval(() => {
    const now = usedBytesUnder(target);
    if (now !== used) {
      used = now;
      lastActivity = Date.now();
    }
    if (idleMs > 0 && Date.now() - lastActivity > idleMs) {
      hung = true;
      stop.abort();
    }
  }, Math.min(5000, Math.max(200, idleMs / 4 || 5000)));

  const shell = masterShell(paths.compatDir, scriptPath);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...shell.env,
    PATH: `${join(paths.compatDir, 'bin')}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
    SI_AGENT_CALLS: paths.masterCalls,
  };
  let result;
  try {
    result = await ctx.run(shell.shell, shell.args, {
      cwd: '/',
      env,
      allowFail: true,
      signal: AbortSignal.any([ctx.signal, stop.signal]),
      maxBuffer: 64 * 1024,
      onSpawn: (pid) => (vs.masterPid = pid),
      onStdout: (c) => out.push(c),
      onStderr: (c) => err.push(c),
    });
  } finally {
    clearInterval(watchdog);
    out.end();
    err.end();
    vs.report?.stop();
    await calls.stop();
    await new Promise<void>((r) => (monitorLog ? monitorLog.end(r) : r()));
  }
  ctx.report.info(`${file} ended (${result.code !== null ? `exit status ${result.code}` : `signal ${result.signal}`}) after ${trace.traced} traced commands`);
  const req = vs.requests;
  if (req.shellout) throw new SiError('E_SCRIPT', describeMasterFailure(file, trace.culprit(), `exit status ${req.shellout.status}, then shellout`));
  if (hung) throw new SiError('E_TIMEOUT', describeMasterFailure(file, trace.culprit(), `no progress for ${idleMs / 1000} s (SCRIPT_TIMEOUT): stopped`));
  if (result.code !== 0) throw new SiError('E_SCRIPT', describeMasterFailure(file, trace.culprit(), result.code !== null ? `exit status ${result.code}` : `killed by ${result.signal}`));

  if (req.postAction) {
    const at = req.postAction.at;
    setParam(ctx, 'POST_ACTION', req.postAction.action, `script:${file}${at?.line ? `:${at.line}` : ''}`);
  } else {
    ctx.report.warn(`${file} ended without a post-install action (shutdown, kexec or beep_incessantly): ${param(ctx, 'POST_ACTION') ?? 'reboot'} (${ctx.params.get('POST_ACTION')?.source ?? 'default'})`);
  }
  // Tunnels, relays and a peer the master did not stop end before the post-install action; the monitor hears 100.
  await runCleanups(ctx);
  if (!req.statuses.includes(100)) ctx.report.emit({ type: 'status', status: 100, message: 'imaged' });
}

export const masterRunStep: Step = {
  name: 'master',
  title: 'Running the autoinstall script (SystemImager 4.3 master)',
  when: (ctx) => ctx.state.scriptMode === 'run',
  run: runMaster,
};
