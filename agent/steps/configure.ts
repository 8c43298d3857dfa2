// Step: configure the installed system (SPEC 10): hostname, network, clone identity and boot loader, chrooted with /dev /proc /sys bound.

import { existsSync, readFileSync } from 'node:fs';
import { systemPaths } from '../exec/tools.js';
import type { DiskPlan } from '../plan/disk-plan-types.js';
import { configureTarget } from '../target/configure-target.js';
import type { EarlyKeygen } from '../target/host-keys.js';
import { chooseBootMode, hasEfivars } from '../target/install-bootloader.js';
import { resolveNetSettings } from '../target/net-settings.js';
import { readNicFacts } from '../target/nic-facts.js';
import { predictNicName, readNamingPolicy } from '../target/nic-name.js';
import { readTargetView } from '../target/target-view.js';
import { type Ctx, type Step, param } from './context.js';
import { bindSystemDirs } from './install-scripts.js';

/** The install environment's /sys (SI_ROOT prefixes it for tests, as for the other system paths). */
const sysDir = () => (process.env.SI_ROOT ?? '') + '/sys';

/** The install NIC's name in the installed system, logged with why. */
function targetNicName(ctx: Ctx, device: string | undefined): string | undefined {
  if (!device) return undefined;
  const facts = readNicFacts(sysDir(), device);
  const { name, why } = predictNicName(facts, readNamingPolicy(readTargetView(ctx.opts.sysroot), facts.mac));
  ctx.report.info(`install NIC ${device} is ${name} in the installed system (${why})`);
  return name;
}

export const configureStep: Step = {
  name: 'configure',
  title: 'Configuring the installed system',
  async run(ctx) {
    const resolvPath = systemPaths().resolvConf;
    const settings = resolveNetSettings(ctx.params, existsSync(resolvPath) ? readFileSync(resolvPath, 'utf8') : '');
    const nic = targetNicName(ctx, settings.device);
    const loader = param(ctx, 'BOOTLOADER')?.toLowerCase() ?? 'grub';
    let boot = null;
    if (loader !== 'none') {
      const { mode, why } = chooseBootMode(param(ctx, 'BOOT_MODE'), sysDir());
      ctx.report.info(`boot mode ${mode.toUpperCase()} (${why})`);
      boot = { mode, efivars: hasEfivars(sysDir()) };
    }
    // SSH host keys the image's ssh-keygen has been making since the image was laid down (agent/steps/image.ts).
    const hostKeys = ctx.state.earlyKeygen as EarlyKeygen | undefined;
    ctx.state.earlyKeygen = undefined;
    const unbind = await bindSystemDirs(ctx);
    try {
      await configureTarget(
        { run: ctx.run, report: ctx.report, sysroot: ctx.opts.sysroot, signal: ctx.signal },
        { settings, ...(nic ? { nic } : {}), plan: ctx.state.diskPlan as DiskPlan, boot, ...(hostKeys ? { hostKeys } : {}) },
      );
    } finally {
      await unbind();
    }
  },
};
