// Step: configure the installed system (SPEC 10): hostname, network, clone identity and boot loader, chrooted with /dev /proc /sys bound.

import { existsSync, readFileSync } from 'node:fs';
import { systemPaths } from '../exec/tools.js';
import type { DiskPlan } from '../plan/disk-plan-types.js';
import { configureTarget } from '../target/configure-target.js';
import type { EarlyKeygen } from '../target/host-keys.js';
import { chooseBootMode, hasEfivars } from '../target/install-bootloader.js';
import { sysLinkNamer } from '../target/link-namer.js';
import { resolveNetSettings } from '../target/net-settings.js';
import { readTargetView } from '../target/target-view.js';
import { type Step, param } from './context.js';
import { bindSystemDirs } from './install-scripts.js';

/** The install environment's /sys (SI_ROOT prefixes it for tests, as for the other system paths). */
const sysDir = () => (process.env.SI_ROOT ?? '') + '/sys';

export const configureStep: Step = {
  name: 'configure',
  title: 'Configuring the installed system',
  async run(ctx) {
    const resolvPath = systemPaths().resolvConf;
    // The install NIC, a bond's slaves and a VLAN's parent NIC get the names the installed system's udev will give them.
    const namer = sysLinkNamer(sysDir(), readTargetView(ctx.opts.sysroot));
    const settings = resolveNetSettings(ctx.params, existsSync(resolvPath) ? readFileSync(resolvPath, 'utf8') : '', namer);
    for (const r of settings.renamed) ctx.report.info(`install NIC ${r.from} is ${r.to} in the installed system (${r.why})`);
    const nic = settings.nic;
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
