// File changes planned purely, applied at the edge: writes, removals, renames and symlinks inside the target only.

import { chmodSync, lstatSync, mkdirSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, isAbsolute } from 'node:path';
import { SiError } from '../errors.js';

export type FileChange =
  | { kind: 'write'; path: string; content: string; mode?: number }
  | { kind: 'remove'; path: string }
  | { kind: 'rename'; path: string; to: string }
  | { kind: 'symlink'; path: string; target: string };

/** One line per change, for the log. */
export function describeChange(c: FileChange): string {
  switch (c.kind) {
    case 'write':
      return `write ${c.path}`;
    case 'remove':
      return `remove ${c.path}`;
    case 'rename':
      return `move ${c.path} to ${c.to}`;
    case 'symlink':
      return `link ${c.path} -> ${c.target}`;
  }
}

/** The host path of a target path, refusing any parent directory that resolves outside the target (image symlinks). */
function inside(root: string, path: string, makeParent: boolean): string {
  const full = join(root, path);
  const parent = dirname(full);
  if (makeParent) mkdirSync(parent, { recursive: true });
  let realParent: string;
  try {
    realParent = realpathSync(parent);
  } catch {
    return full;
  }
  const rel = relative(realpathSync(root), realParent);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new SiError('E_DISK', `${path}: its directory resolves outside the installed system (${realParent})`);
  return full;
}

const lexists = (p: string) => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

/** Applies the changes under root; a write replaces a symlink rather than writing through it. */
export function applyFileChanges(root: string, changes: readonly FileChange[]): void {
  for (const c of changes) {
    const full = inside(root, c.path, c.kind === 'write' || c.kind === 'symlink');
    switch (c.kind) {
      case 'write':
        if (lexists(full) && lstatSync(full).isSymbolicLink()) rmSync(full);
        writeFileSync(full, c.content, c.mode === undefined ? undefined : { mode: c.mode });
        if (c.mode !== undefined) chmodSync(full, c.mode);
        break;
      case 'remove':
        rmSync(full, { recursive: true, force: true });
        break;
      case 'rename':
        if (lexists(full)) renameSync(full, inside(root, c.to, true));
        break;
      case 'symlink':
        rmSync(full, { recursive: true, force: true });
        symlinkSync(c.target, full);
        break;
    }
  }
}
