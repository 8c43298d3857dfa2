// The tree an install of the fixture image should leave: the image, then its overrides in order; and which
// differences from it are the install's own doing (files it writes, directories it writes into).

import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { ImageServerInfo } from '../../fixtures/image-server/make-image-server.js';
import { compareTrees } from './compare-trees.js';

/** What the install adds to the image on purpose: files it writes, mount points the image lacks, filesystems' lost+found. */
export const ADDED = ['etc/fstab', 'etc/hostname', 'etc/hosts', 'etc/systemimager/IMAGE_LAST_SYNCED_TO', 'var/log', 'root/post-install-ran', 'root/post-install-order', 'lost+found', 'var/lost+found', 'boot', 'data'];
/** Directories whose mtime changes because the install writes into them after the image is laid down. */
const TOUCHED_DIRS = new Set(['.', 'etc', 'etc/systemimager', 'root', 'var', 'tmp']);

/** Builds the expected installed tree of the fixture server in dir: the image, then the overrides in precedence order. */
export function buildExpectedTree(server: ImageServerInfo, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const rsync = (args: string[]) => execFileSync('rsync', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  rsync(['-aHAXS', '--numeric-ids', '--exclude=lost+found/', '--exclude=/proc/*', `${server.imageDir}/`, `${dir}/`]);
  // --ignore-times: overrides may hold files of the same size and mtime as the ones they replace.
  for (const o of server.overrides) rsync(['-aHAXS', '--numeric-ids', '--ignore-times', `${server.overridesDir}/${o}/`, `${dir}/`]);
  return dir;
}

/** Differences that are not the install's own doing. */
export function unexpectedDiffs(diffs: string[]): string[] {
  return diffs.filter((d) => {
    const m = /^(.*): mtime \d+ != \d+$/.exec(d);
    return !(m && TOUCHED_DIRS.has(m[1]!));
  });
}

/** The differences between an installed root and the expected tree that the install did not cause. */
export async function installedTreeDiffs(expected: string, root: string, extraIgnore: string[] = []): Promise<string[]> {
  return unexpectedDiffs(await compareTrees(expected, root, { ignore: [...ADDED, ...extraIgnore] }));
}
