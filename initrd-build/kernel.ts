// Fetches, unpacks and caches the Debian kernel (standard flavor), or describes a local one (UYOK).

import { existsSync, mkdirSync, readdirSync, rmSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { $sync } from './zx.ts';

export interface KernelInfo {
  /** Kernel release, the name of its /lib/modules directory (e.g. 6.1.0-56-amd64). */
  version: string;
  vmlinuz: string;
  /** /lib/modules/<version> holding modules.dep. */
  modulesDir: string;
  /** Debian package it came from, when fetched. */
  package?: string;
}

/** The real kernel package the linux-image-amd64 metapackage depends on. */
export function realKernelPackage(meta = 'linux-image-amd64'): string {
  const out = $sync()`apt-cache depends ${meta}`.stdout;
  const m = /Depends:\s+(linux-image-[^\s<>]+)/.exec(out);
  if (!m) throw new Error(`apt-cache depends ${meta}: no linux-image-* dependency in:\n${out}`);
  return m[1];
}

/** Returns the Debian kernel, downloading and unpacking it into cacheDir/kernel/<version>/ on first use. */
export function fetchDebianKernel(cacheDir: string, meta = 'linux-image-amd64'): KernelInfo {
  const pkg = realKernelPackage(meta);
  const version = pkg.replace(/^linux-image-/, '');
  const root = resolve(cacheDir, 'kernel', version);
  const info = kernelInRoot(root, version, pkg);
  if (existsSync(join(info.modulesDir, 'modules.dep')) && existsSync(info.vmlinuz)) return info;

  const work = resolve(cacheDir, 'kernel', `.${version}.tmp`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  $sync({ cwd: work })`apt-get download ${pkg}`;
  const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${pkg} left no .deb in ${work}`);
  const tree = join(work, 'root');
  $sync()`dpkg-deb -x ${join(work, deb)} ${tree}`;
  $sync()`depmod -b ${tree} ${version}`;
  rmSync(root, { recursive: true, force: true });
  mkdirSync(resolve(cacheDir, 'kernel'), { recursive: true });
  renameSync(tree, root);
  rmSync(work, { recursive: true, force: true });
  return kernelInRoot(root, version, pkg);
}

/** Locates vmlinuz and the modules directory in an unpacked kernel package (usrmerge or not). */
export function kernelInRoot(root: string, version: string, pkg?: string): KernelInfo {
  const vmlinuz = join(root, 'boot', `vmlinuz-${version}`);
  const candidates = [join(root, 'lib', 'modules', version), join(root, 'usr', 'lib', 'modules', version)];
  const modulesDir = candidates.find((d) => existsSync(d)) ?? candidates[0];
  return { version, vmlinuz, modulesDir, package: pkg };
}

/** Describes a kernel given by paths (UYOK: --kernel /boot/vmlinuz-X --modules /lib/modules/X). */
export function localKernel(vmlinuz: string, modulesDir: string): KernelInfo {
  const dir = resolve(modulesDir);
  const version = dir.split('/').filter(Boolean).pop() ?? '';
  if (!existsSync(vmlinuz)) throw new Error(`--kernel ${vmlinuz}: no such file`);
  if (!existsSync(join(dir, 'modules.dep'))) throw new Error(`--modules ${dir}: no modules.dep (run depmod ${version})`);
  return { version, vmlinuz: resolve(vmlinuz), modulesDir: dir };
}

/** The running kernel's image and modules (default for the uyok flavor). */
export function runningKernel(): KernelInfo {
  const version = $sync()`uname -r`.stdout.trim();
  return localKernel(`/boot/vmlinuz-${version}`, `/lib/modules/${version}`);
}
