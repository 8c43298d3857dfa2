// Makes the changes stage planned, each one recorded first, and rolls them all back if any step fails.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SiError, withContext } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import type { Reporter } from '../report/events.js';
import type { FetchedBoot } from './boot-files.js';
import { ENTRY_ID, GRUB_D_SCRIPT, LOADER_ENTRY } from './boot-entry-plan.js';
import { ChangeRecorder, RECORD_DIR } from './change-record.js';
import { honoursNextEntry, insertGrubCfgBlock, parseGrubenv, renderGrubCfgBlock, renderGrubDScript, renderGrubenv, renderLoaderEntry } from './grub-entry-text.js';
import { alignmentPadding, makeNewcArchive } from './newc-cpio.js';
import type { StagePlan } from './stage-prepare.js';
import { openTargetTools, type TargetTools } from './target-tools.js';
import { undoRecorded } from './stage-undo.js';

export const STAGED_KERNEL = '/boot/kernel.systemimager';
export const STAGED_INITRD = '/boot/initrd.img.systemimager';

/** The staged initrd: the fetched one, then (4-byte aligned) a newc archive holding /local.cfg when there is one. */
function stagedInitrd(fetched: FetchedBoot, localCfg: string | undefined): Buffer {
  const base = readFileSync(fetched.initrd);
  if (localCfg === undefined) return base;
  return Buffer.concat([base, alignmentPadding(base.length), makeNewcArchive([{ path: 'local.cfg', data: Buffer.from(localCfg), mode: 0o600 }])]);
}

/** Runs a target tool, naming it in the error. */
async function tool(t: TargetTools, argv: string[], root: string): Promise<void> {
  try {
    await t.run(argv);
  } catch (err) {
    throw withContext(err, `${argv[0]!.split('/').pop()} in ${root === '/' ? 'this system' : root}`);
  }
}

/** The GRUB entry and its one-shot default; checks grub.cfg and grubenv afterwards. */
async function stageGrub(p: StagePlan, rec: ChangeRecorder, t: TargetTools, report: Reporter): Promise<void> {
  const e = p.entry!;
  if (e.kind !== 'grub') return;
  const root = p.opts.root;
  if (e.generator) {
    rec.writeFile(GRUB_D_SCRIPT, renderGrubDScript(STAGED_KERNEL, STAGED_INITRD, p.words), 0o755);
    const cfg = rec.before(e.grubCfg);
    await tool(t, e.generator, root);
    rec.after(cfg);
  } else {
    const cfg = readFileSync(join(root, e.grubCfg), 'utf8');
    const prefix = p.bootFs.separate ? '' : '/boot';
    let block = renderGrubCfgBlock(`${prefix}/kernel.systemimager`, `${prefix}/initrd.img.systemimager`, p.bootFs.uuid!, p.words);
    if (!honoursNextEntry(cfg)) {
      // This grub.cfg has no one-shot logic of its own: the block brings it.
      block = block.replace('menuentry', 'if [ -s $prefix/grubenv ]; then load_env; fi\nif [ "${next_entry}" ] ; then\n   set default="${next_entry}"\n   set next_entry=\n   save_env next_entry\nfi\nmenuentry');
    }
    rec.writeFile(e.grubCfg, insertGrubCfgBlock(cfg, block));
  }
  const cfgText = readFileSync(join(root, e.grubCfg), 'utf8');
  if (!cfgText.includes(`--id ${ENTRY_ID}`)) throw new SiError('E_TARGET', `${e.grubCfg} has no ${ENTRY_ID} entry after ${e.generator ? e.generator.join(' ') : 'editing it'}`);
  const envPath = `${e.grubDir}/grubenv`;
  if (e.rebootTool) {
    const env = rec.before(envPath);
    await tool(t, [e.rebootTool, ENTRY_ID], root);
    rec.after(env);
  } else {
    const old = existsSync(join(root, envPath)) ? parseGrubenv(readFileSync(join(root, envPath), 'latin1')) : {};
    rec.writeFile(envPath, renderGrubenv({ ...old, next_entry: ENTRY_ID }));
  }
  const next = existsSync(join(root, envPath)) ? parseGrubenv(readFileSync(join(root, envPath), 'latin1')).next_entry : undefined;
  if (next !== ENTRY_ID) throw new SiError('E_TARGET', `${envPath}: next_entry is ${JSON.stringify(next ?? null)} after setting it to ${ENTRY_ID}`);
  report.info(`GRUB boots ${ENTRY_ID} once at the next boot (${envPath} next_entry)`);
}

/** The systemd-boot entry with the files on the ESP, and bootctl set-oneshot on a live system. */
async function stageSystemdBoot(p: StagePlan, rec: ChangeRecorder, t: TargetTools, fetched: FetchedBoot, initrd: Buffer, report: Reporter): Promise<void> {
  const e = p.entry!;
  if (e.kind !== 'systemd-boot') return;
  rec.writeFile(`${e.espDir}/systemimager/kernel`, readFileSync(fetched.kernel));
  rec.writeFile(`${e.espDir}/systemimager/initrd.img`, initrd);
  rec.writeFile(`${e.espDir}/loader/entries/${LOADER_ENTRY}`, renderLoaderEntry('/systemimager/kernel', '/systemimager/initrd.img', p.words));
  if (e.bootctl && p.opts.root === '/') await tool(t, [e.bootctl, 'set-oneshot', LOADER_ENTRY], p.opts.root);
  else report.warn(`no one-shot default set (${e.bootctl ? 'bootctl needs the live system' : 'no bootctl'}): choose "${LOADER_ENTRY}" in the boot menu`);
}

/** Writes files, boot entry and one-shot default; on failure puts everything back and rethrows. Returns the record's changes. */
export async function applyStage(p: StagePlan, fetched: FetchedBoot, io: { run: Runner; report: Reporter }): Promise<string[]> {
  const root = p.opts.root;
  const rec = new ChangeRecorder(root, { stagedAt: new Date().toISOString(), server: `${p.opts.server}:${p.opts.port}`, flavor: `${p.opts.arch}/${p.opts.flavor}`, ...(p.entry?.kind === 'grub' && p.entry.generator ? { generator: p.entry.generator } : {}) });
  let tools: TargetTools | undefined;
  try {
    rec.begin();
    const initrd = stagedInitrd(fetched, p.localCfg?.text);
    if (p.entry?.kind !== 'systemd-boot') {
      rec.writeFile(STAGED_KERNEL, readFileSync(fetched.kernel));
      rec.writeFile(STAGED_INITRD, initrd);
    }
    if (p.localCfg && p.opts.configureFrom) rec.writeFile('/local.cfg', p.localCfg.text, 0o600);
    if (p.entry) {
      // The target's tools (generator, grub-reboot, bootctl) need binds for --root; a direct grub.cfg edit needs none.
      const e = p.entry;
      const needed = e.kind === 'grub' ? !!(e.generator || e.rebootTool) : !!e.bootctl && root === '/';
      tools = needed ? await openTargetTools(io.run, io.report, root) : { run: () => Promise.reject(new Error('no target tools')), close: async () => {} };
      await stageGrub(p, rec, tools, io.report);
      await stageSystemdBoot(p, rec, tools, fetched, initrd, io.report);
    }
  } catch (err) {
    io.report.warn(`stage failed: putting back what it changed`);
    try {
      const undone = undoRecorded(root, { force: true });
      if (undone?.regenerate && p.entry?.kind === 'grub' && p.entry.generator && tools) await tools.run(p.entry.generator);
    } catch (undoErr) {
      io.report.error(`could not put everything back: ${(undoErr as Error).message}; see ${RECORD_DIR}`);
    }
    throw err;
  } finally {
    await tools?.close();
  }
  return rec.record.changes.filter((c) => c.path !== RECORD_DIR).map((c) => (c.kind === 'dir' ? `made ${c.path}/` : `${c.backup ? 'changed' : 'added'} ${c.path}`));
}
