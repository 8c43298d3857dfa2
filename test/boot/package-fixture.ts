// Builds a boot package once into a temp directory for a boot test, and removes it afterwards.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildBootPackage, type PackageResult } from '../../initrd-build/build-package.ts';

export const PROJECT_DIR = resolve(import.meta.dirname, '..', '..');

/** True when this process may boot QEMU here: root and qemu-system-x86_64 installed. */
export function canBoot(): boolean {
  return process.getuid?.() === 0 && existsSync('/usr/bin/qemu-system-x86_64');
}

/** Makes a temp dir and builds the standard package into it (media: ISO and USB too). */
export async function buildTestPackage(append: string, media: boolean): Promise<{ dir: string; pkg: PackageResult }> {
  const dir = mkdtempSync(join(tmpdir(), 'si-boot-test.'));
  try {
    const pkg = await buildBootPackage({ projectDir: PROJECT_DIR, out: join(dir, 'pkg'), flavor: 'standard', append, media });
    return { dir, pkg };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Removes a test directory. */
export function removeTestDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
