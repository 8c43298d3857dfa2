// Measures a staging tree: total bytes and the largest files and directories, for the manifest and the bench.

import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface SizedPart {
  path: string;
  bytes: number;
  kind: 'file' | 'dir';
}

/** Sums regular-file bytes per directory (recursively) and lists each file. */
function measure(root: string): { files: SizedPart[]; dirs: SizedPart[]; total: number } {
  const files: SizedPart[] = [];
  const dirs: SizedPart[] = [];
  const walk = (rel: string): number => {
    let sum = 0;
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) sum += walk(child);
      else if (e.isFile()) {
        const bytes = lstatSync(join(root, child)).size;
        files.push({ path: '/' + child, bytes, kind: 'file' });
        sum += bytes;
      }
    }
    if (rel) dirs.push({ path: '/' + rel + '/', bytes: sum, kind: 'dir' });
    return sum;
  };
  const total = walk('');
  return { files, dirs, total };
}

/** The n largest files and the n largest directories (each directory counted with everything under it). */
export function largestParts(root: string, n = 10): { total: number; files: SizedPart[]; dirs: SizedPart[] } {
  const m = measure(root);
  const top = (xs: SizedPart[]) => [...xs].sort((a, b) => b.bytes - a.bytes || a.path.localeCompare(b.path)).slice(0, n);
  return { total: m.total, files: top(m.files), dirs: top(m.dirs) };
}

/** Human-readable size (MiB with one decimal, or KiB). */
export function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}
