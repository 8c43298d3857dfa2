// Configures the installed system: SystemConfigurator when the image has it, else hostname, network, identity and boot loader natively.

import { randomUUID } from 'node:crypto';
import { withContext } from '../errors.js';
import type { DiskPlan } from '../plan/disk-plan-types.js';
import { planBootLoader, type BootMode, type BootPlan } from './boot-plan.js';
import { planCloneIdentity } from './clone-identity.js';
import { applyFileChanges, describeChange } from './file-changes.js';
import { needsHostKeys, placeEarlyHostKeys, type EarlyKeygen } from './host-keys.js';
import { installBootLoader } from './install-bootloader.js';
import type { NetSettings } from './net-settings.js';
import { planNetworkChanges } from './plan-network.js';
import { findSystemConfigurator, renderScConfig, SC_ARGS } from './systemconfigurator.js';
import { runInTarget, type TargetCtx } from './target-ctx.js';
import { readTargetView } from './target-view.js';

export interface TargetInputs {
  settings: NetSettings;
  /** The install NIC's name as the installed system will call it. */
  nic?: string;
  plan: DiskPlan;
  /** null: BOOTLOADER=none. */
  boot: { mode: BootMode; efivars: boolean } | null;
  /** SSH host keys being made since the image was laid down (agent/target/host-keys.ts). */
  hostKeys?: EarlyKeygen;
}

/** What was done, for the log and the tests. */
export interface TargetResult {
  via: 'systemconfigurator' | 'native';
  style?: string;
  boot?: BootPlan;
}

/** Configures the target; system directories must be bind-mounted by the caller. */
export async function configureTarget(t: TargetCtx, input: TargetInputs): Promise<TargetResult> {
  const view = readTargetView(t.sysroot);
  const sc = findSystemConfigurator(view);
  if (sc) {
    t.report.info(`${sc} found in the image: it configures hardware, network and boot loader`);
    try {
      await runInTarget(t, [sc, ...SC_ARGS], { input: renderScConfig(input.settings, input.nic) });
    } catch (err) {
      throw withContext(err, 'systemconfigurator');
    }
    await resetCloneIdentity(t, input.hostKeys);
    return { via: 'systemconfigurator' };
  }
  // Planned before anything is written: an image that cannot boot fails with the image untouched.
  const boot = input.boot ? planBootLoader(view, input.plan, input.boot.mode, { efivars: input.boot.efivars }) : undefined;
  const net = planNetworkChanges(view, input.nic, input.settings, randomUUID());
  if (net.style) t.report.info(`network configuration style: ${net.style} (${net.evidence}); NIC ${input.nic ?? '(none)'}, ${input.settings.assignment}`);
  for (const n of net.notes) t.report.warn(n);
  for (const c of net.changes) t.report.debug(describeChange(c));
  applyFileChanges(t.sysroot, net.changes);
  await resetCloneIdentity(t, input.hostKeys);
  if (boot) await installBootLoader(t, input.plan, boot);
  else t.report.info('BOOTLOADER=none: boot loader left as in the image');
  return { via: 'native', ...(net.style ? { style: net.style } : {}), ...(boot ? { boot } : {}) };
}

/**
 * Drops the golden client's identity and puts new SSH host keys in place: those the image's ssh-keygen made ahead
 * (early), else made now with it. A failed early run costs only its time: the keys are then made here, and a failure
 * here fails the install.
 */
export async function resetCloneIdentity(t: TargetCtx, early?: EarlyKeygen): Promise<void> {
  // Waited for first: an old ssh-keygen that ignores the prefix writes into /etc/ssh, and what it wrote goes too.
  if (early) await early.done;
  const keygen = needsHostKeys(t.sysroot);
  const changes = planCloneIdentity(readTargetView(t.sysroot));
  for (const c of changes) t.report.debug(describeChange(c));
  applyFileChanges(t.sysroot, changes);
  let how = '';
  if (keygen) {
    const placed = early ? await placeEarlyHostKeys(t, early) : [];
    if (placed.length > 0) how = `, new SSH host keys made ahead: ${placed.filter((k) => !k.endsWith('.pub')).join(' ')}`;
    else {
      try {
        await runInTarget(t, keygen, { timeout: 5 * 60 * 1000 });
      } catch (err) {
        throw withContext(err, 'regenerating SSH host keys');
      }
      how = ', new SSH host keys';
    }
  } else if (early) await placeEarlyHostKeys(t, early);
  t.report.info(`clone identity reset (${changes.length} change(s)${how})`);
}
