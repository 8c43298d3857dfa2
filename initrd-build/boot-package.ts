// CLI: npm run boot-package -- --out DIR [options]; builds the boot package (SPEC 13).

import { parseArgs } from 'node:util';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBootPackage } from './build-package.ts';
import { AGENT_ZSTD_LEVEL } from './initrd.ts';

const USAGE = `usage: npm run boot-package -- --out DIR [options]
  --flavor standard|uyok     standard: Debian's kernel (default); uyok: this machine's kernel
  --kernel FILE --modules DIR  use this kernel image and its /lib/modules/<version> directory
  --my-modules               (uyok) only the modules loaded now (/proc/modules)
  --append "PARAMS"          kernel parameters for the boot configs (e.g. "IMAGESERVER=10.0.0.1 console=ttyS0")
  --local-cfg FILE           bake FILE into the initrd as /local.cfg
  --ssh-key FILE             private key for client-driven SSH (/root/.ssh/id_*)
  --authorized-keys FILE     keys for server-driven SSH (/root/.ssh/authorized_keys)
  --zstd-level N             zstd level of the agent's archive in the initrd, 1-19 (default 19; cached per agent
                             build; tools, libraries and modules are always zstd -19, cached in .cache/initrd-parts)
  --xz                       compress the initrd with xz -9e: about 20% smaller than zstd -10, minutes to build
  --agent-image              carry the agent as a squashfs image mounted by /init: the initrd holds about 80 MB less
                             RAM (installs with -m 320 instead of 480), the agent starts about a second later emulated
                             (needs mksquashfs: squashfs-tools)
  --no-media                 skip boot.iso and usb.img
writes DIR/kernel, DIR/initrd.img, DIR/manifest.json, DIR/pxelinux.cfg/default, DIR/boot.ipxe,
       DIR/grub/grub.cfg, DIR/grubx64.efi, DIR/pxelinux.0, DIR/ldlinux.c32, DIR/boot.iso, DIR/usb.img
(DIR is a TFTP root: pxelinux.0, boot.ipxe or grubx64.efi as the DHCP boot file)`;

/** Parses the command line and builds the package; returns the exit code. */
export async function runBootPackageCli(argv: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        flavor: { type: 'string', default: 'standard' },
        kernel: { type: 'string' },
        modules: { type: 'string' },
        'my-modules': { type: 'boolean', default: false },
        append: { type: 'string', default: '' },
        'local-cfg': { type: 'string' },
        'ssh-key': { type: 'string' },
        'authorized-keys': { type: 'string' },
        'zstd-level': { type: 'string' },
        'no-media': { type: 'boolean', default: false },
        xz: { type: 'boolean', default: false },
        'agent-image': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`boot-package: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const level = v['zstd-level'] === undefined ? AGENT_ZSTD_LEVEL : Number(v['zstd-level']);
  const problems: string[] = [];
  if (!v.out) problems.push('--out DIR is required');
  if (v.flavor !== 'standard' && v.flavor !== 'uyok') problems.push(`--flavor ${v.flavor}: must be standard or uyok`);
  if (!Number.isInteger(level) || level < 1 || level > 19) problems.push(`--zstd-level ${v['zstd-level']}: must be 1-19`);
  if (v['my-modules'] && v.flavor !== 'uyok') problems.push('--my-modules needs --flavor uyok');
  if (problems.length) {
    process.stderr.write(problems.map((p) => `boot-package: ${p}\n`).join('') + USAGE + '\n');
    return 2;
  }
  const projectDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const r = await buildBootPackage({
    projectDir,
    out: v.out as string,
    flavor: v.flavor as 'standard' | 'uyok',
    kernelImage: v.kernel,
    modulesDir: v.modules,
    myModules: v['my-modules'],
    append: v.append,
    localCfg: v['local-cfg'],
    sshKey: v['ssh-key'],
    authorizedKeys: v['authorized-keys'],
    zstdLevel: level,
    xz: v.xz,
    agentImage: v['agent-image'],
    media: !v['no-media'],
    log: (l) => process.stdout.write(`boot-package: ${l}\n`),
  });
  process.stdout.write(`boot-package: done in ${(r.manifest.buildSeconds as number).toFixed(1)} s: ${r.dir}\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runBootPackageCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`boot-package: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
