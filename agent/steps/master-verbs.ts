// What a 4.3 master's functions hand to the running agent (initrd-build/compat): monitor, progress, multicast,
// BitTorrent, post-install scripts, the post-install action, killall, and shellout.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { SiError } from '../errors.js';
import { getUint } from '../params/validate.js';
import { systemPaths } from '../exec/tools.js';
import type { CallResult } from '../compat/call-dir.js';
import { killMasterProcesses } from '../compat/master-killall.js';
import { startReportTask, type ReportTask } from '../compat/report-task.js';
import type { TracedCommand } from '../compat/master-trace.js';
import { type Ctx, param } from './context.js';

/** What the master asked for while it ran: read by the step when it ends. */
export interface MasterRequests {
  /** Post-install action (reboot, shutdown, beep, kexec) and the master line that asked. */
  postAction?: { action: string; at?: TracedCommand };
  /** shellout was called: its status (the master's last exit status) and the command to blame. */
  shellout?: { status: number };
  /** Monitor statuses the master sent itself. */
  statuses: number[];
  /** Interfaces the master took down (`ifconfig DEV down`): left up until the post-install action. */
  linksDown: string[];
}

/** The state the verbs share during one master run. */
export interface VerbState {
  ctx: Ctx;
  target: string;
  requests: MasterRequests;
  masterPid?: number;
  lastTraced: () => TracedCommand | undefined;
  /** Stops the master (its process group) after shellout. */
  stopMaster: () => void;
  report?: ReportTask;
}

const ok = (out?: string): CallResult => ({ status: 0, out });

/** Parses `send_monitor_msg`'s `k=v:k=v` and emits what the agent's monitor sink carries: the status. */
function monitor(vs: VerbState, fields: string): CallResult {
  const status = /(?:^|:)status=(-?\d+)(?::|$)/.exec(fields);
  if (!status) {
    vs.ctx.report.debug(`send_monitor_msg ${fields}: no status, nothing sent`);
    return ok();
  }
  const n = Number(status[1]);
  vs.requests.statuses.push(n);
  vs.ctx.report.emit({ type: 'status', status: n, message: 'from the autoinstall script' });
  return ok();
}

/** The image's size for the report task: the rsync listing started when IMAGENAME was known, when there is one. */
async function imageTotal(vs: VerbState): Promise<number | null> {
  const listing = vs.ctx.state.imageSizeListing as { result: Promise<{ bytes: number | null }> } | undefined;
  if (!listing) return null;
  return (await listing.result.catch(() => ({ bytes: null }))).bytes;
}

/** kexec as the master calls it: the kernel is loaded now (its files may go with the target), executed by PID 1. */
async function kexec(vs: VerbState, args: string[]): Promise<CallResult> {
  let kernel: string | undefined;
  let initrd: string | undefined;
  let append: string | undefined;
  let exec = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    const [name, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = () => inline ?? args[++i] ?? '';
    if (name === '--initrd' || name === '--ramdisk') initrd = value();
    else if (name === '--append' || name === '--command-line') append = value();
    else if (name === '-f' || name === '--force' || name === '-e' || name === '--exec') exec = true;
    else if (name === '-l' || name === '--load' || name === '--reuse-cmdline' || name === '-x' || name === '--no-ifdown') continue;
    else if (a.startsWith('-')) throw new SiError('E_SCRIPT', `kexec ${args.join(' ')}: option ${a} is not one a 4.3 master uses`);
    else kernel = a;
  }
  if (kernel) {
    const load = ['-l', kernel, ...(initrd ? [`--initrd=${initrd}`] : []), ...(append !== undefined ? [`--append=${append}`] : [])];
    await vs.ctx.run('kexec', load);
    vs.ctx.report.info(`kexec: ${basename(kernel)} loaded; PID 1 starts it after the final report`);
  }
  if (exec || !kernel) vs.requests.postAction = { action: 'kexec', at: vs.lastTraced() };
  return ok();
}

/** Staging directory for a torrent's file: the same choice the native install makes. */
async function btStaging(vs: VerbState, torrent: string): Promise<CallResult> {
  const { parseTorrentMeta } = await import('../transport/bittorrent/meta.js');
  const { chooseStaging } = await import('../transport/bittorrent/staging.js');
  const meta = parseTorrentMeta(readFileSync(torrent), torrent);
  const paths = systemPaths();
  return ok(chooseStaging(meta.length, { explicit: param(vs.ctx, 'BITTORRENT_STAGING'), tmp: paths.tmp, sysroot: vs.target, procMounts: paths.procMounts }) + '\n');
}

/** Downloads a torrent's file into dir with the agent's peer (it seeds on until bittorrent_stop). */
async function btGet(vs: VerbState, torrent: string, dir: string): Promise<CallResult> {
  const ctx = vs.ctx;
  const { parseTorrentMeta } = await import('../transport/bittorrent/meta.js');
  const { checkTracker } = await import('../transport/bittorrent/tracker.js');
  const { ensureSession } = await import('./bittorrent-session.js');
  const { downloadAndExtract } = await import('../transport/bittorrent/download.js');
  const meta = parseTorrentMeta(readFileSync(torrent), torrent);
  const session = await ensureSession(ctx);
  const tracker = await checkTracker(meta, torrent, { report: ctx.report, signal: ctx.signal, port: session.peer.port });
  const started = Date.now();
  await downloadAndExtract(ctx, {
    peer: session.peer,
    meta,
    tracker,
    stagingDir: dir,
    dest: null,
    serverAddresses: session.serverAddresses,
    phase: basename(torrent).startsWith('image-') ? 'image' : 'override',
    pollMs: 1000,
    signal: ctx.signal,
  });
  ctx.report.info(`BitTorrent ${meta.name}: ${meta.length} bytes in ${dir} after ${((Date.now() - started) / 1000).toFixed(1)} s; seeding on`);
  return ok();
}

/** Stops the peer; the master's tarballs are its own to remove. */
async function btStop(vs: VerbState): Promise<CallResult> {
  const { btSession, seedThenStop } = await import('./bittorrent-session.js');
  const s = btSession(vs.ctx);
  if (s && !s.stopped) {
    s.staged = [];
    await seedThenStop(vs.ctx, s);
  }
  return ok();
}

/** Runs the post-install scripts chrooted in the master's target, with the agent's runner and SCRIPT_TIMEOUT. */
async function postInstall(vs: VerbState): Promise<CallResult> {
  const { postInstallStep } = await import('./install-scripts.js');
  const inTarget: Ctx = { ...vs.ctx, opts: { ...vs.ctx.opts, sysroot: vs.target } };
  await postInstallStep.run(inTarget);
  vs.ctx.state.postInstallScripts = inTarget.state.postInstallScripts;
  return ok();
}

/** Answers one call from the master's functions and shims. */
export async function answerVerb(vs: VerbState, verb: string, args: string[]): Promise<CallResult> {
  const ctx = vs.ctx;
  switch (verb) {
    case 'monitor':
      return monitor(vs, args[0] ?? '');
    case 'report-start': {
      vs.report?.stop();
      vs.report = startReportTask(ctx.report, vs.target, await imageTotal(vs));
      return ok();
    }
    case 'report-stop': {
      vs.report?.stop();
      vs.report = undefined;
      if (args[0] && /^-?\d+$/.test(args[0])) monitor(vs, `status=${args[0]}`);
      return ok();
    }
    case 'flamethrower': {
      const [module = '', dir = '', retry = '1'] = args;
      if (!module || !dir) throw new SiError('E_SCRIPT', 'flamethrower_client: MODULE_NAME and DIR must be set');
      const { multicastModule } = await import('./multicast.js');
      await multicastModule(ctx, module, dir, Math.max(0, (Number(retry) || 1) - 1));
      return ok();
    }
    case 'bt-staging':
      return btStaging(vs, args[0] ?? '');
    case 'bt-get':
      return btGet(vs, args[0] ?? '', args[1] ?? '');
    case 'bt-stop':
      return btStop(vs);
    case 'post-install':
      return postInstall(vs);
    case 'shellout': {
      const status = Number(args[0] ?? '1');
      vs.requests.shellout = { status: Number.isFinite(status) ? status : 1 };
      // The function exits the master right after; a master that goes on (shellout in a subshell) is stopped.
      setTimeout(vs.stopMaster, 1500).unref();
      return ok();
    }
    case 'post-action': {
      const [action = '', ...rest] = args;
      if (action === 'kexec') return kexec(vs, rest);
      if (!['reboot', 'shutdown', 'beep'].includes(action)) throw new SiError('E_SCRIPT', `post-action ${action}: not reboot, shutdown, beep or kexec`);
      vs.requests.postAction = { action, at: vs.lastTraced() };
      ctx.report.info(`the autoinstall script asks for ${action}: PID 1 does it after the final report`);
      return ok();
    }
    case 'killall': {
      if (vs.masterPid === undefined) return { status: 1 };
      const r = killMasterProcesses(args, vs.masterPid, new Set([process.pid]));
      ctx.report.info(r.note);
      return { status: r.status };
    }
    case 'link-down': {
      const dev = args[0] ?? '';
      vs.requests.linksDown.push(dev);
      ctx.report.info(`ifconfig ${dev} down: left up until the post-install action, so the final report still goes out`);
      return ok();
    }
    default:
      throw new SiError('E_SCRIPT', `si-agent-call: unknown verb ${verb}`);
  }
}

/** SCRIPT_TIMEOUT in ms (0: none), which bounds a master that stops making progress. */
export function masterIdleLimitMs(ctx: Ctx): number {
  return getUint(ctx.params, 'SCRIPT_TIMEOUT') * 1000;
}
