// Everything stage checks and decides before asking and before changing anything: boot loader, interface, server, command line.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SiError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import type { Reporter } from '../report/events.js';
import { readTargetView } from '../target/target-view.js';
import { checkFlavor } from './boot-files.js';
import { planBootEntry, type BootEntryPlan } from './boot-entry-plan.js';
import { readRecord, type StageRecord } from './change-record.js';
import { checkCmdlineWords } from './grub-entry-text.js';
import { renderLocalCfg } from './local-cfg-text.js';
import { readLiveSettings } from './live-settings.js';
import type { StageOptions } from './stage-options.js';
import { mountOf } from './target-tools.js';
import { INSTALLER_KERNEL_WORDS } from '../init/installer-kernel-words.js';

export interface StagePlan {
  opts: StageOptions;
  /** Undefined with --kexec: no boot entry is made. */
  entry?: BootEntryPlan;
  /** local.cfg text for the root and the initrd: written from --configure-from, or the one the root already has. */
  localCfg?: { text: string; from: string };
  /** The root filesystem (LAST_ROOT) and the filesystem holding /boot. */
  rootFs: { device: string; uuid?: string };
  bootFs: { device: string; uuid?: string; separate: boolean };
  /** The installer's kernel command line words. */
  words: string[];
  previous?: StageRecord;
}

/** blkid's UUID of a device, undefined when it has none or is not a device. */
async function uuidOf(run: Runner, dev: string): Promise<string | undefined> {
  if (!dev.startsWith('/dev/')) return undefined;
  const r = await run('blkid', ['-s', 'UUID', '-o', 'value', dev], { allowFail: true, quiet: true, timeout: 30_000 });
  const u = r.stdout.trim();
  return r.code === 0 && /^[0-9A-Fa-f-]{4,64}$/.test(u) ? u : undefined;
}

/** The console= words of the running kernel, so the installer talks where this system does (live staging only). */
function consoleWords(root: string): string[] {
  if (root !== '/' || !existsSync('/proc/cmdline')) return [];
  return readFileSync('/proc/cmdline', 'utf8').trim().split(/\s+/).filter((w) => /^console=[A-Za-z0-9,._-]+$/.test(w));
}

/** Checks and decides everything; throws (E_USAGE, E_TARGET, E_SERVER) before anything is changed. */
export async function prepareStage(opts: StageOptions, io: { run: Runner; report: Reporter }): Promise<StagePlan> {
  const root = opts.root;
  if (!existsSync(join(root, 'boot'))) throw new SiError('E_USAGE', `--root ${root}: it has no /boot: not a system to stage into`);
  const view = readTargetView(root);
  const entry = opts.kexec ? undefined : planBootEntry(view);
  const live = opts.configureFrom ? await readLiveSettings(io.run, opts.configureFrom, root) : undefined;
  await checkFlavor({ run: io.run, report: io.report }, opts.server, opts.port, opts.arch, opts.flavor);
  const rootMount = mountOf(root);
  const bootMount = mountOf(join(root, 'boot'));
  const rootFs = { device: rootMount?.device ?? 'unknown', uuid: rootMount ? await uuidOf(io.run, rootMount.device) : undefined };
  const bootFs = { device: bootMount?.device ?? rootFs.device, uuid: bootMount ? await uuidOf(io.run, bootMount.device) : rootFs.uuid, separate: !!bootMount && !!rootMount && bootMount.mp !== rootMount.mp };
  let localCfg: StagePlan['localCfg'];
  if (live) localCfg = { text: renderLocalCfg(live, opts.server, new Date().toISOString()), from: `the live settings of ${live.iface}` };
  else if (view.read('/local.cfg') !== undefined) localCfg = { text: view.read('/local.cfg')!, from: `${root === '/' ? '' : root}/local.cfg as it is` };
  const words = [...consoleWords(root), ...INSTALLER_KERNEL_WORDS, `IMAGESERVER=${opts.server}`];
  if (localCfg && rootFs.uuid) words.push(`LAST_ROOT=UUID=${rootFs.uuid}`);
  else if (localCfg) io.report.warn(`the root filesystem (${rootFs.device}) has no UUID: LAST_ROOT is not set, the local.cfg reaches the installer in its initrd only`);
  else words.push('SKIP_LOCAL_CFG=y');
  words.push(...opts.append);
  checkCmdlineWords(words);
  if (entry?.kind === 'grub' && !entry.generator && !bootFs.uuid) {
    throw new SiError('E_TARGET', `grub.cfg must name the filesystem of /boot (${bootFs.device}) by UUID and it has none`);
  }
  const previous = readRecord(root);
  return { opts, ...(entry ? { entry } : {}), ...(localCfg ? { localCfg } : {}), rootFs, bootFs, words, ...(previous ? { previous } : {}) };
}

/** What stage is about to do, for the confirmation question and the log. */
export function describePlan(p: StagePlan): string[] {
  const o = p.opts;
  const lines = [`stage the SystemImager installer from ${o.server}:${o.port} boot/${o.arch}/${o.flavor}/ into ${o.root}`];
  if (p.previous) lines.push(`undo the previous stage (${p.previous.stagedAt}) first`);
  lines.push(`write ${o.root === '/' ? '' : o.root}/boot/kernel.systemimager and /boot/initrd.img.systemimager`);
  if (p.localCfg) lines.push(`local.cfg from ${p.localCfg.from}: ${p.localCfg.text.split('\n').filter((l) => l && !l.startsWith('#')).join(' ')}`);
  if (p.entry?.kind === 'grub') {
    lines.push(p.entry.generator ? `add /etc/grub.d/42_systemimager and run ${p.entry.generator.join(' ')}` : `add an entry to ${p.entry.grubCfg}`);
    lines.push(`make it the next boot once (${p.entry.rebootTool ? p.entry.rebootTool.split('/').pop() : 'grubenv next_entry'})`);
  } else if (p.entry?.kind === 'systemd-boot') lines.push(`add a systemd-boot entry on ${p.entry.espDir} and make it the next boot once`);
  if (o.kexec) lines.push('then sync and kexec into the installer now');
  lines.push(`installer command line: ${p.words.join(' ')}`);
  return lines;
}
