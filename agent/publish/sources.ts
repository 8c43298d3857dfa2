// What a publish covers: each image directory (or the named ones), each override directory, the scripts directory.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SiError } from '../errors.js';
import type { ArtefactKind } from './manifest.js';
import { compareNames, treeError } from './tree-list.js';

export interface Source {
  kind: ArtefactKind;
  name: string;
  dir: string;
  /** The artefact's path in the publish tree. */
  path: string;
  /** SystemImager's torrents base name (image-NAME, override-NAME); none for the scripts. */
  torrentBase?: string;
  /** The flamethrower module that casts it (the image's name, override_NAME); none for the scripts. */
  castModule?: string;
}

/** Names that can be a file name in the publish tree and a module name: no slash, no dot-only, no control bytes. */
function checkName(name: string, what: string): void {
  if (name === '' || name === '.' || name === '..' || /[/\x00-\x1f]/.test(name)) throw new SiError('E_PARAM', `${what} ${JSON.stringify(name)} is not a usable name`);
}

function dirsIn(dir: string): string[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    names = readdirSync(dir);
  } catch (err) {
    throw treeError(dir, err);
  }
  return names.filter((n) => statSync(join(dir, n)).isDirectory()).sort(compareNames);
}

function requireDir(dir: string): void {
  let ok: boolean;
  try {
    ok = statSync(dir).isDirectory();
  } catch (err) {
    throw treeError(dir, err);
  }
  if (!ok) throw new SiError('E_PARAM', `${dir} is not a directory`);
}

/** Lists the sources; a missing directory, an unknown --image name or no image at all is an E_PARAM naming it. */
export function findSources(o: { images: string; overrides: string; scripts: string; imageNames?: string[] }): Source[] {
  const out: Source[] = [];
  let images: string[];
  if (o.imageNames && o.imageNames.length > 0) {
    images = [...new Set(o.imageNames)];
    for (const n of images) {
      checkName(n, 'image');
      requireDir(join(o.images, n));
    }
  } else {
    images = dirsIn(o.images);
    if (images.length === 0) throw new SiError('E_PARAM', `${o.images} holds no image directory`);
  }
  for (const n of images) {
    checkName(n, 'image');
    out.push({ kind: 'image', name: n, dir: join(o.images, n), path: `images/${n}.tar.zst`, torrentBase: `image-${n}`, castModule: n });
  }
  for (const n of dirsIn(o.overrides)) {
    checkName(n, 'override');
    out.push({ kind: 'override', name: n, dir: join(o.overrides, n), path: `overrides/${n}.tar.zst`, torrentBase: `override-${n}`, castModule: `override_${n}` });
  }
  requireDir(o.scripts);
  out.push({ kind: 'scripts', name: 'scripts', dir: o.scripts, path: 'scripts.tar.zst' });
  return out;
}
