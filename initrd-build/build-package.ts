// Builds a whole boot package into a directory: kernel, initrd.img, PXE configs, ISO, USB image, manifest.json.

import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildIso, writeNetbootConfigs, writeUsbImage, type TemplateVars } from './boot-media.ts';
import { AGENT_ZSTD_LEVEL, buildInitrd, type InitrdResult } from './initrd.ts';
import { fetchDebianKernel, localKernel, runningKernel, type KernelInfo } from './kernel.ts';
import { describeArtefacts, buildManifest, writeManifest } from './manifest.ts';
import { standardModuleRequests } from './module-list.ts';
import { parseProcModules, type ModuleRequest } from './modules.ts';
import { buildSea, type SeaResult } from './sea.ts';
import { INSTALLER_KERNEL_WORDS } from '../agent/init/installer-kernel-words.ts';

export interface PackageOptions {
  projectDir: string;
  out: string;
  flavor: 'standard' | 'uyok';
  kernelImage?: string;
  modulesDir?: string;
  myModules?: boolean;
  append?: string;
  localCfg?: string;
  sshKey?: string;
  authorizedKeys?: string;
  /** zstd level of the agent's archive in the initrd (default 19; the system archive is always zstd -19, cached). */
  zstdLevel?: number;
  /** Compress the initrd with xz -9e instead of zstd: smaller, much slower to build. */
  xz?: boolean;
  /** Carry the agent as a squashfs image mounted by a small /init (less RAM, slower agent start; see agent-image.ts). */
  agentImage?: boolean;
  /** Also build boot.iso and usb.img (slower: grub-mkrescue). */
  media?: boolean;
  /** Log progress lines here. */
  log?: (line: string) => void;
}

export interface PackageResult {
  dir: string;
  kernel: KernelInfo;
  sea: SeaResult;
  initrd: InitrdResult;
  manifest: Record<string, unknown>;
}

/** Picks the kernel: explicit paths, else the running one (uyok), else Debian's (standard). */
export function chooseKernel(o: PackageOptions): KernelInfo {
  if (o.kernelImage || o.modulesDir) {
    if (!o.kernelImage || !o.modulesDir) throw new Error('--kernel and --modules go together');
    return localKernel(o.kernelImage, o.modulesDir);
  }
  if (o.flavor === 'uyok') return runningKernel();
  return fetchDebianKernel(join(o.projectDir, '.cache'));
}

/** Picks the module list: loaded modules (--my-modules), else the standard list (optional for a foreign kernel). */
export function chooseModules(o: PackageOptions): ModuleRequest[] {
  if (o.myModules) {
    if (!existsSync('/proc/modules')) throw new Error('--my-modules: no /proc/modules (the running kernel has no loadable modules)');
    return parseProcModules(readFileSync('/proc/modules', 'utf8')).map((name) => ({ name, optional: true }));
  }
  const std = standardModuleRequests();
  return o.flavor === 'uyok' ? std.map((r) => ({ ...r, optional: true })) : std;
}

/** Builds everything; returns what was made. */
export async function buildBootPackage(o: PackageOptions): Promise<PackageResult> {
  const t0 = Date.now();
  const log = o.log ?? (() => {});
  const dir = resolve(o.out);
  mkdirSync(dir, { recursive: true });
  const kernel = chooseKernel(o);
  log(`kernel ${kernel.version} (${kernel.vmlinuz})`);
  const sea = buildSea({ projectDir: o.projectDir });
  log(`agent ${sea.agentVersion}: ${sea.path} (${(sea.bytes / 1e6).toFixed(1)} MB)`);
  const zstdLevel = o.zstdLevel ?? AGENT_ZSTD_LEVEL;
  const agentVersion = sea.agentVersion.split(' ')[1] ?? sea.agentVersion;
  const initrd = await buildInitrd({
    kernel,
    modules: chooseModules(o),
    agent: sea.path,
    agentVersion,
    out: join(dir, 'initrd.img'),
    localCfg: o.localCfg,
    sshKey: o.sshKey,
    authorizedKeys: o.authorizedKeys,
    zstdLevel,
    xz: o.xz,
    agentImage: o.agentImage === true,
    cacheDir: join(o.projectDir, '.cache', 'initrd-parts'),
  });
  log(`initrd ${(initrd.compressedBytes / 1e6).toFixed(1)} MB (${(initrd.uncompressedBytes / 1e6).toFixed(1)} MB unpacked), ${initrd.modules.length} modules`);
  copyFileSync(kernel.vmlinuz, join(dir, 'kernel'));

  // The installer's own words first, so that the site's (o.append) can override them.
  const append = [...INSTALLER_KERNEL_WORDS, o.append ?? ''].filter(Boolean).join(' ');
  const vars: TemplateVars = { VERSION: agentVersion, FLAVOR: o.flavor, KERNEL_VERSION: kernel.version, APPEND: append };
  const configsDir = join(o.projectDir, 'boot-configs');
  const configs = writeNetbootConfigs(dir, configsDir, vars);
  const artefactPaths = [join(dir, 'kernel'), join(dir, 'initrd.img')];
  if (o.media !== false) {
    buildIso(join(dir, 'boot.iso'), join(dir, 'kernel'), join(dir, 'initrd.img'), configsDir, vars);
    writeUsbImage(join(dir, 'boot.iso'), join(dir, 'usb.img'));
    artefactPaths.push(join(dir, 'boot.iso'), join(dir, 'usb.img'));
    log('boot.iso and usb.img written');
  }
  const manifest = buildManifest({
    flavor: o.flavor,
    append,
    agentVersion,
    nodeVersion: sea.nodeVersion,
    seaBytes: sea.bytes,
    agentParts: readAgentParts(o.projectDir),
    icu: sea.icu,
    kernel,
    initrd,
    zstdLevel,
    xz: o.xz === true,
    artefacts: await describeArtefacts(artefactPaths),
    configs,
    buildSeconds: (Date.now() - t0) / 1000,
  });
  writeManifest(join(dir, 'manifest.json'), manifest);
  return { dir, kernel, sea, initrd, manifest };
}

/** What bundle.mjs measured of the bundle (the main bundle's and each side bundle's bytes), or undefined when it did not. */
function readAgentParts(projectDir: string): Record<string, number> | undefined {
  const f = join(projectDir, 'dist', 'si-agent.parts.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Record<string, number>) : undefined;
}
