// The tree hash: what decides whether an artefact is packed again. A sha256 over the sorted listing (path, type, mode,
// owner, size, mtime, link target, hard link, device, sparse or not, attributes); file contents are not read, as rsync
// does not read them either when size and mtime agree.

import { createHash } from 'node:crypto';
import { looksSparse } from './sparse-scan.js';
import type { TreeListing } from './tree-list.js';
import type { EntryAttrs } from './xattr-read.js';

/** Changes whenever the archive writer's output for the same listing would change, so old artefacts are repacked. */
export const WRITER_VERSION = 'si-agent-publish-tree/1';

/** The hex sha256 of a listing and its attributes. */
export function hashTree(listing: TreeListing, attrs: Map<string, EntryAttrs>): string {
  const h = createHash('sha256');
  h.update(WRITER_VERSION + '\n');
  for (const e of listing.entries) {
    const st = e.st;
    const a = attrs.get(e.rel);
    const fields = [
      e.rel, e.type, (st.mode & 0o7777n).toString(8), String(st.uid), String(st.gid), e.type === 'file' ? String(st.size) : '0', String(st.mtimeNs),
      e.link ?? '', e.hardlinkOf ?? '', e.type === 'char' || e.type === 'block' ? String(st.rdev) : '', e.type === 'file' && looksSparse(st) ? 'sparse' : '',
      a ? a.xattrs.map(([k, v]) => `${k}=${v.toString('base64')}`).join(',') : '', a?.acl.access ?? '', a?.acl.default ?? '',
    ];
    // NUL cannot occur in a path or attribute name: the fields cannot run into each other.
    h.update(fields.join('\0') + '\n');
  }
  return h.digest('hex');
}
