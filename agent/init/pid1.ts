// PID 1 in the initrd: early mounts, modules, devices; the install runs as a child under a subreaper; PID 1 never exits.

import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readSync, constants as fsConstants } from 'node:fs';
import { constants } from 'node:os';
import { createRunner } from '../exec/runner.js';
import { toolPath, systemPaths } from '../exec/tools.js';
import { Reporter } from '../report/events.js';
import { attachSinks } from '../report/setup.js';
import { mountEarlyFilesystems, mountNestedAndLoopback } from './early-mounts.js';
import { loadedModules, loadInitrdModules, waitForDevicesToSettle } from './load-modules.js';
import { shellout } from './shellout.js';
import { findProgram } from './find-program.js';
import { takeDirectbootRequest } from './prepare-action.js';
import { deathSignal, loadMonitorContact, reportWorkerDeath } from './crash-report.js';
import { sinceStart, startCost } from './boot-clock.js';
import { markBootStage } from './boot-stages.js';

/** The worker's argv: under `tini -s` when present, so orphaned grandchildren (daemons) are reaped, not left as zombies. */
export function workerArgv(execPath: string, tini: string | undefined): string[] {
  const self = [execPath, 'init', '--worker'];
  return tini ? [tini, '-s', '-g', '--', ...self] : self;
}

/** Runs the install as a child process; resolves with its exit code (or 128+signal) and the signal that ended it. */
function runWorker(argv: string[], reporter: Reporter): Promise<{ code: number; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env: { ...process.env, SI_PID1: '1' } });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(s, forward);
    child.on('error', (err) => {
      reporter.error(`cannot start the install worker ${argv[0]}: ${err.message}`);
      resolve({ code: 127, signal: null });
    });
    child.on('exit', (code, signal) => {
      for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.off(s, forward);
      resolve({ code: code ?? 128 + (signal ? constants.signals[signal] : 0), signal });
    });
  });
}

/** Replaces PID 1 with `switch_root ROOT INIT` (busybox frees the initramfs and execs the installed init); returns only on failure. */
async function switchRoot(reporter: Reporter, root: string, init: string): Promise<void> {
  const tool = findProgram(toolPath('switch_root'));
  if (!tool) {
    reporter.error('directboot: switch_root not found in the initrd');
    return;
  }
  reporter.info(`directboot: switch_root ${root} ${init}`);
  const run = createRunner(null);
  // The installed system names and configures its NICs itself, as after a boot: udev renames only a link that is down
  // (eth0 -> ens3 fails with EBUSY while up), and its own configuration makes the bond and the VLAN again (a bond that
  // exists with slaves takes no new mode). So the install's VLANs and bonds are deleted (the slaves come free), and
  // every other link but lo loses its addresses and goes down.
  const links = existsSync('/sys/class/net') ? readdirSync('/sys/class/net').filter((n) => n !== 'lo') : [];
  const isVlan = (n: string) => existsSync(`/proc/net/vlan/${n}`);
  const isBond = (n: string) => existsSync(`/sys/class/net/${n}/bonding`);
  for (const nic of [...links.filter(isVlan), ...links.filter((n) => !isVlan(n) && isBond(n))]) {
    await run('ip', ['link', 'delete', 'dev', nic], { allowFail: true });
  }
  for (const nic of links.filter((n) => existsSync(`/sys/class/net/${n}`))) {
    await run('ip', ['addr', 'flush', 'dev', nic], { allowFail: true });
    await run('ip', ['link', 'set', 'dev', nic, 'down'], { allowFail: true });
  }
  // The installed init finds the kernel filesystems where an initramfs leaves them: moved into the new root.
  for (const d of ['/dev', '/proc', '/sys', '/run']) {
    if (existsSync(`${root}${d}`)) await run('mount', ['--move', d, `${root}${d}`], { allowFail: true });
  }
  await reporter.close();
  try {
    process.execve!(tool, ['switch_root', root, init], process.env);
  } catch (err) {
    reporter.error(`directboot: switch_root failed: ${(err as Error).message}`);
  }
}

/** The kernel's log so far, read from /dev/kmsg without blocking (no dmesg process); '' when unreadable. */
export function readKernelLog(path = '/dev/kmsg'): string {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch {
    return '';
  }
  const buf = Buffer.alloc(8192);
  const records: string[] = [];
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        // EAGAIN: no record left; EPIPE: records overwritten while reading, the next read goes on from the oldest.
        if ((err as NodeJS.ErrnoException).code === 'EPIPE') continue;
        break;
      }
      if (n <= 0) break;
      const rec = buf.toString('utf8', 0, n);
      records.push(rec.slice(rec.indexOf(';') + 1));
    }
  } finally {
    closeSync(fd);
  }
  return records.join('');
}

/**
 * Loads the drivers (the NICs' first), then lets the block devices settle, marking each stage for the worker; withNics
 * runs alongside the rest of the drivers, and is done before the worker hears of "modules".
 */
async function prepareDevices(run: ReturnType<typeof createRunner>, reporter: Reporter, withNics: () => Promise<void>): Promise<void> {
  let alongside: Promise<void> | undefined;
  try {
    // The worker brings the links up and runs DHCP as soon as the NIC drivers are there (agent/steps/early-network.ts).
    const n = await loadInitrdModules(run, reporter, {
      onNetworkDrivers: () => {
        markBootStage('network');
        reporter.info(`boot: NIC drivers loaded at +${sinceStart()} s`);
        alongside = withNics();
      },
    });
    await alongside;
    markBootStage('modules', { modules: n });
    const loaded = loadedModules();
    reporter.info(`boot: modules loaded at +${sinceStart()} s (${n} modprobe request(s), ${loaded.length} module(s) in the kernel)`);
    reporter.info(`boot: modules in the kernel: ${loaded.join(' ')}`);
    const devices = await waitForDevicesToSettle();
    markBootStage('devices', { devices });
    reporter.info(`boot: block devices settled at +${sinceStart()} s: ${devices.join(' ') || '(none)'}`);
  } catch (err) {
    // The worker must not wait for a stage that never comes: mark them all and say why (after what withNics does).
    reporter.warn(`boot: preparing devices failed: ${(err as Error).message}`);
    await (alongside ?? withNics()).catch((e: Error) => reporter.warn(`boot: ${e.message}`));
    try {
      for (const stage of ['network', 'modules', 'devices'] as const) markBootStage(stage, { error: (err as Error).message });
    } catch (e) {
      reporter.warn(`boot: cannot tell the worker (${(e as Error).message}): it goes on after its own time limit`);
    }
  }
}

/** The whole life of PID 1; never returns. */
export async function runPid1(): Promise<never> {
  // Any error escaping here must not end PID 1 (that would panic the kernel): it ends in the shell.
  process.on('uncaughtException', (err) => void shellout(new Reporter(), `internal error in PID 1: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (err) => void shellout(new Reporter(), `internal error in PID 1: ${String(err)}`));
  const started = startCost();
  process.env.PATH ??= '/usr/sbin:/usr/bin:/sbin:/bin';
  const reporter = new Reporter();
  const run = createRunner(reporter);
  const mounted = await mountEarlyFilesystems(run);
  const mountedAt = sinceStart();
  await attachSinks(reporter, { out: process.stdout, logPath: systemPaths().log, eventsPath: '/tmp/si-events.jsonl' });
  reporter.info(`boot: PID 1 ${started}; early mounts done at +${mountedAt} s, console and log at +${sinceStart()} s`);
  // Too little memory for the initrd leaves it half unpacked: say so, rather than fail later on a missing tool.
  const unpack = /Initramfs unpacking failed: .*/.exec(readKernelLog());
  if (unpack) return await shellout(reporter, `the initrd was not unpacked whole (${unpack[0].trim()}): give this machine more memory`);
  const tini = findProgram(toolPath('tini'));
  if (!tini) reporter.warn('tini not found: orphaned processes of the install will not be reaped');
  // The worker starts now and loads its code while the drivers load here; it waits for a stage only where it needs one.
  const worker = runWorker(workerArgv(process.execPath, tini), reporter);
  reporter.info(`boot: worker started at +${sinceStart()} s`);
  // What the worker's steps up to the network do not need comes once the NIC drivers are in, and before the worker
  // is told all modules are: /dev/pts and lo (an SSH tunnel's local end, the SSH server's sessions).
  await prepareDevices(run, reporter, async () => {
    const more = await mountNestedAndLoopback(run);
    reporter.info(`si-agent PID 1: mounted ${[...mounted, ...more].join(' ') || '(all were mounted)'}`);
  });
  const { code, signal } = await worker;
  const direct = code === 0 ? takeDirectbootRequest() : undefined;
  if (direct) await switchRoot(reporter, direct.root, direct.init);
  const died = deathSignal(code, signal);
  if (died) await reportDeath(reporter, died);
  const why =
    code === 0 ? 'the install finished; its post-install action did not end this system'
    : died ? `the install worker died from ${died} (exit code ${code}); the install did not finish`
    : `the install failed (exit code ${code})`;
  return await shellout(reporter, why);
}

/** The worker died from a signal, so it told the monitor nothing: PID 1 sends status -1 for it, when it knows where. */
async function reportDeath(reporter: Reporter, died: string): Promise<void> {
  const contact = loadMonitorContact();
  if (!contact) {
    reporter.warn(`the install worker died from ${died} before it knew a monitor server: no status -1 sent`);
    return;
  }
  const r = await reportWorkerDeath(contact);
  if (r.ok) reporter.info(`the install worker died from ${died}: status -1 sent to the monitor ${contact.server}:${contact.port}: ${r.line}`);
  else reporter.warn(`the install worker died from ${died}: status -1 not delivered to ${contact.server}:${contact.port} (${r.error})`);
}
