// Which disk layout file of `scripts/disks-layouts/` this client uses (SPEC 8, as SystemImager 4.9).

import { isSafeName } from './hostname.js';
import { namesByPrecedence } from './script-choice.js';

/** Directory of the layouts inside the scripts module. */
export const LAYOUTS_DIR = 'disks-layouts';

/** The image's own layout, fetched alone from the image when no layout file exists in the scripts directory. */
export const IMAGE_LAYOUT_PATH = 'etc/systemimager/autoinstallscript.conf';

/** What the layout choice depends on. */
export interface LayoutChoiceOpts {
  hostname?: string;
  groups: readonly string[];
  baseHostname?: string;
  imageName?: string;
}

/** Candidate layout paths (relative to the scripts module) in order: HOSTNAME, each group, BASE_HOSTNAME, IMAGENAME, `default`. */
export function layoutCandidates(opts: LayoutChoiceOpts): string[] {
  const names = [...namesByPrecedence(opts), 'default'].filter(isSafeName);
  return [...new Set(names)].map((x) => `${LAYOUTS_DIR}/${x}.xml`);
}

/** The first candidate layout that exists, or undefined (then the image's autoinstallscript.conf is used). */
export function chooseLayoutFile(opts: LayoutChoiceOpts, exists: (path: string) => boolean): string | undefined {
  return layoutCandidates(opts).find((p) => exists(p));
}
