// The options of `si-agent stage` (SPEC 13-14), checked before anything is read or changed.

import { resolve } from 'node:path';
import { SiError } from '../errors.js';

export interface StageOptions {
  server: string;
  port: number;
  flavor: string;
  arch: string;
  configureFrom?: string;
  /** Extra kernel command line words (--append), quotes kept for the kernel and the agent to read. */
  append: string[];
  kexec: boolean;
  /** The system to stage into (--root, default /). */
  root: string;
  yes: boolean;
  undo: boolean;
}

/** Splits --append text into kernel command line words, keeping quotes inside words (`NAME="a b"` stays one word). */
export function splitAppend(text: string): string[] {
  const words = text.match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g) ?? [];
  const rest = text.replace(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g, '').trim();
  if (rest !== '') throw new SiError('E_USAGE', `--append: unterminated quote in ${JSON.stringify(text)}`);
  return words;
}

/** Builds and checks the stage options from the command line's values. */
export function stageOptions(v: { server?: string; port?: number; flavor?: string; arch?: string; configureFrom?: string; append?: string; kexec: boolean; root?: string; yes: boolean; undo: boolean }): StageOptions {
  if (!v.undo && !v.server) throw new SiError('E_USAGE', 'stage needs --server HOST (the image server holding the boot package)');
  const root = resolve(v.root ?? '/');
  if (v.kexec && root !== '/') throw new SiError('E_USAGE', '--kexec loads the kernel into the running system: it cannot go with --root');
  if (v.undo && (v.kexec || v.configureFrom)) throw new SiError('E_USAGE', '--undo takes only --root and --yes');
  return {
    server: v.server ?? '',
    port: v.port ?? 873,
    flavor: v.flavor ?? 'standard',
    arch: v.arch ?? hostArch(),
    ...(v.configureFrom ? { configureFrom: v.configureFrom } : {}),
    append: splitAppend(v.append ?? ''),
    kexec: v.kexec,
    root,
    yes: v.yes,
    undo: v.undo,
  };
}

/** The boot package architecture of this machine, named as the server's boot/<arch>/ directories are. */
export function hostArch(): string {
  const map: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'i386', ppc64: 'ppc64le' };
  return map[process.arch] ?? process.arch;
}
