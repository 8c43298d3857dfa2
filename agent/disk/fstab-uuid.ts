// Names the fstab entries the layout gave by device path by their filesystem's UUID once the filesystems exist:
// the disk installed as /dev/loop0 or vdb may boot as vda, and a device name in fstab would then be wrong.

import type { Runner } from '../exec/runner.js';
import type { Reporter } from '../report/events.js';
import type { DiskPlan, FstabLine } from '../plan/disk-plan-types.js';
import { isFsUuid } from '../target/uuid-links.js';

/** The UUID blkid reads from a device's superblock (-p: never its cache), or null when it has none. */
export async function readFilesystemUuid(run: Runner, device: string): Promise<string | null> {
  const r = await run('blkid', ['-p', '-s', 'UUID', '-o', 'value', device], { allowFail: true, quiet: true, timeout: 30_000 });
  const uuid = r.stdout.trim();
  return r.code === 0 && isFsUuid(uuid) ? uuid : null;
}

/**
 * Rewrites each device-named line whose device has a UUID in `uuids`: `UUID=<uuid>` in the first field, and a comment
 * before it with the layout's name (and the install-time name when it differs). Other lines are returned as they are.
 */
export function nameFstabByUuid(lines: readonly FstabLine[], uuids: Readonly<Record<string, string>>): FstabLine[] {
  return lines.map((l) => {
    const uuid = l.device ? uuids[l.device] : undefined;
    if (!l.device || !uuid) return l;
    const rows = l.text.split('\n');
    const fields = rows.pop()!.split('\t');
    const was = l.layoutDevice ?? l.device;
    const note = `# ${was}${l.device !== was ? ` (installed as ${l.device})` : ''}`;
    fields[0] = `UUID=${uuid}`;
    return { line: l.line, text: [...rows, note, fields.join('\t')].join('\n') };
  });
}

/**
 * The plan with its fstab naming every device-named filesystem it made or keeps by UUID (call after mkfs).
 * A filesystem blkid finds no UUID on keeps its device name, with a warning.
 */
export async function planWithFstabUuids(plan: DiskPlan, run: Runner, report: Reporter): Promise<DiskPlan> {
  const ours = new Set(plan.filesystems.map((f) => f.device));
  const uuids: Record<string, string> = {};
  const devices = [...new Set(plan.fstab.flatMap((l) => (l.device && ours.has(l.device) ? [l.device] : [])))];
  const read = await Promise.all(devices.map((d) => readFilesystemUuid(run, d)));
  devices.forEach((d, i) => {
    if (read[i]) uuids[d] = read[i]!;
    else {
      const l = plan.fstab.find((x) => x.device === d)!;
      report.warn(`fstab: ${d} has no filesystem UUID; its entry keeps the device name ${l.layoutDevice ?? d}`);
    }
  });
  const fstab = nameFstabByUuid(plan.fstab, uuids);
  const named = Object.entries(uuids).map(([d, u]) => `${d}=UUID=${u}`);
  if (named.length) report.info(`fstab names by UUID: ${named.join(' ')}`);
  return { ...plan, fstab };
}
