// Renders what `si-agent plan` found: parameters with their sources and the install plan, as text or one JSON object.

import type { Ctx } from './steps/context.js';
import type { DiskPlan } from './plan/disk-plan.js';
import { scriptsFor } from './steps/install-scripts.js';

/** The plan as one JSON-able object (SPEC 14: parameters + plan). */
export function buildPlanObject(ctx: Ctx): Record<string, unknown> {
  const parameters: Record<string, { value: string; source: string }> = {};
  for (const [k, v] of [...ctx.params].sort(([a], [b]) => a.localeCompare(b))) parameters[k] = { value: v.value, source: v.source };
  const disk = ctx.state.diskPlan as DiskPlan | undefined;
  const p = (n: string) => ctx.params.get(n)?.value;
  const yes = (n: string) => /^(y|yes|1|true)$/i.test(p(n) ?? '');
  const transport = p('HTTP_BASE') ? 'http' : yes('BITTORRENT') ? 'bittorrent' : p('FLAMETHROWER_DIRECTORY_PORTBASE') !== undefined ? 'multicast' : yes('SSHD') ? 'sshd' : yes('SSH') || p('SSH_DOWNLOAD_URL') ? 'ssh' : 'rsync';
  return {
    parameters,
    plan: {
      imageServer: p('IMAGESERVER'),
      hostname: p('HOSTNAME'),
      groups: ctx.state.groups,
      script: ctx.state.scriptName,
      scriptMode: ctx.state.scriptMode,
      scriptModeReason: ctx.state.scriptModeReason,
      image: p('IMAGENAME'),
      overrides: ctx.state.overrides,
      transport,
      layout: ctx.state.layoutSource,
      disks: disk?.disks ?? [],
      raid: disk?.raids ?? [],
      lvm: disk?.vgs ?? [],
      filesystems: disk?.filesystems ?? [],
      mounts: disk?.mounts ?? [],
      fstab: disk?.fstab.map((l) => l.text) ?? [],
      preInstallScripts: ctx.state.scriptsDir ? scriptsFor(ctx, 'pre-install') : [],
      postInstallScripts: ctx.state.scriptsDir ? scriptsFor(ctx, 'post-install') : [],
      postAction: p('POST_ACTION') ?? 'reboot',
      postActionSource: ctx.params.get('POST_ACTION')?.source ?? 'default',
    },
  };
}

/** The plan for people: parameters table, then the plan's parts. */
export function formatPlanText(obj: Record<string, unknown>): string {
  const params = obj.parameters as Record<string, { value: string; source: string }>;
  const plan = obj.plan as Record<string, unknown>;
  const lines: string[] = ['Parameters:'];
  const w = Math.max(...Object.keys(params).map((k) => k.length), 4);
  for (const [k, v] of Object.entries(params)) lines.push(`  ${k.padEnd(w)}  ${JSON.stringify(v.value).padEnd(24)}  ${v.source}`);
  lines.push('', 'Plan:');
  for (const key of ['imageServer', 'hostname', 'groups', 'script', 'scriptMode', 'image', 'overrides', 'transport', 'layout', 'preInstallScripts', 'postInstallScripts', 'postAction']) {
    const v = plan[key];
    const from = key === 'postAction' && plan.postActionSource ? ` (${String(plan.postActionSource)})` : key === 'scriptMode' && plan.scriptModeReason ? ` (${String(plan.scriptModeReason)})` : '';
    lines.push(`  ${key}: ${Array.isArray(v) ? v.join(' ') || '(none)' : (v ?? '(none)')}${from}`);
  }
  if (plan.scriptMode === 'run') lines.push(`  install: by ${String(plan.script)}'s own commands (partitions, filesystems, image, overrides, post-install action); no layout is checked`);
  const disks = plan.disks as DiskPlan['disks'];
  for (const d of disks) {
    lines.push(`  disk ${d.layoutDev} -> ${d.device} (${d.labelType}, ${d.sizeMiB} MiB)`);
    for (const part of d.parts) lines.push(`    ${JSON.stringify(part)}`);
  }
  for (const key of ['raid', 'lvm', 'filesystems', 'mounts']) for (const x of plan[key] as unknown[]) lines.push(`  ${key}: ${JSON.stringify(x)}`);
  lines.push('  fstab:');
  for (const l of plan.fstab as string[]) lines.push(`    ${l}`);
  return lines.join('\n') + '\n';
}
