// The image server's `scripts/cluster.txt` (written by si_clusterconfig): groups, image and overrides per host.

import type { Problem } from '../errors.js';
import { clipForMessage, isSafeName, uniqueNames } from './hostname.js';

export { isSafeName } from './hostname.js';

/** One `hostname:group:image:override` line, fields trimmed and kept verbatim (they are data, never code). */
export interface ClusterLine {
  hostname: string;
  group: string;
  image: string;
  override: string;
  line: number; // 1-based
}

/** A parsed cluster.txt: its lines, the global overrides and every problem found, with where. */
export interface ClusterTxt {
  source: string;
  lines: ClusterLine[];
  globalOverrides: string[];
  globalOverridesLine?: number;
  problems: Problem[];
}

/** What cluster.txt says about one host (SPEC 4). */
export interface ClusterInfo {
  groupNames: string[]; // GROUPNAMES: unique, file order
  imageName?: string; // first non-empty image
  groupOverrides: string[]; // unique, reverse file order (most important last)
  globalOverrides: string[]; // least important of all
  problems: Problem[]; // unsafe names left out of the lists above
}

const GLOBAL_RE = /^#\s*global_override\s*=(.*)$/;
const FIELDS = ['group', 'image', 'override'] as const;

/** Parses cluster.txt text; never throws, every odd line or unsafe name becomes a problem naming file and line. */
export function parseClusterTxt(text: string, source: string): ClusterTxt {
  const out: ClusterTxt = { source, lines: [], globalOverrides: [], problems: [] };
  const global: string[] = [];
  text.replace(/^\uFEFF/, '').split(/\r?\n|\r/).forEach((raw, i) => {
    const lineNo = i + 1;
    const where = `${source}:${lineNo}`;
    const body = raw.trim();
    if (body === '') return;
    if (body.startsWith('#')) {
      const m = GLOBAL_RE.exec(body);
      if (m) {
        // `:all:` in 4.3; several names are colon- (or space-) separated; every such line counts, as BOEL's sed did.
        for (const name of m[1]!.split(/[:\s]+/).filter((n) => n !== '')) {
          if (!isSafeName(name)) out.problems.push(unsafe(where, 'global_override', name));
          global.push(name);
        }
        out.globalOverridesLine ??= lineNo;
      }
      return;
    }
    const fields = body.split(':').map((f) => f.trim());
    if (fields.length < 2) {
      out.problems.push({ source: where, key: 'line', message: `${clipForMessage(body)} is not hostname:group:image:override; line skipped` });
      return;
    }
    const [hostname, group = '', image = '', override = ''] = fields as [string, ...string[]];
    if (hostname === '') {
      out.problems.push({ source: where, key: 'hostname', message: 'empty host name; line skipped' });
      return;
    }
    if (fields.length > 4) {
      out.problems.push({ source: where, key: 'line', message: `${fields.length} fields, expected 4 (hostname:group:image:override); fields after the 4th ignored` });
    }
    if (!isSafeName(hostname)) out.problems.push(unsafe(where, 'hostname', hostname));
    const entry: ClusterLine = { hostname, group, image, override, line: lineNo };
    for (const key of FIELDS) {
      if (entry[key] !== '' && !isSafeName(entry[key])) out.problems.push(unsafe(where, key, entry[key]));
    }
    out.lines.push(entry);
  });
  out.globalOverrides = uniqueNames(global);
  return out;
}

/** Groups, image and overrides of one host, as 4.3 BOEL's get_group_name; unsafe names are left out and reported. */
export function clusterInfoFor(c: ClusterTxt, hostname: string): ClusterInfo {
  const mine = c.lines.filter((l) => l.hostname === hostname);
  const problems: Problem[] = [];
  const keep = (l: ClusterLine, key: (typeof FIELDS)[number]): string => {
    const v = l[key];
    if (v === '' || isSafeName(v)) return v;
    problems.push(unsafe(`${c.source}:${l.line}`, key, v));
    return '';
  };
  const groupNames = uniqueNames(mine.map((l) => keep(l, 'group')));
  // The first non-empty image is THE image: when it is unsafe it is reported and
  // left unset rather than replaced by a later line's image the operator did not mean.
  const firstImage = mine.find((l) => l.image !== '');
  const imageName = firstImage === undefined ? undefined : keep(firstImage, 'image') || undefined;
  // si_clusterconfig writes the most important override first; BOEL reverses so
  // that later = more important, the order in which overrides are applied.
  const groupOverrides = uniqueNames(mine.map((l) => keep(l, 'override'))).reverse();
  const globalOverrides = c.globalOverrides.filter((n) => {
    if (isSafeName(n)) return true;
    problems.push(unsafe(`${c.source}:${c.globalOverridesLine ?? 0}`, 'global_override', n));
    return false;
  });
  return { groupNames, ...(imageName === undefined ? {} : { imageName }), groupOverrides, globalOverrides, problems };
}

/** GROUP_OVERRIDES as BOEL exported it: the global overrides first (least important), then the group ones. */
export function formatGroupOverrides(info: Pick<ClusterInfo, 'groupOverrides' | 'globalOverrides'>): string {
  return [...info.globalOverrides, ...info.groupOverrides].join(' ');
}

function unsafe(source: string, key: string, value: string): Problem {
  return { source, key, message: `${clipForMessage(value)} is not a safe name (letters, digits, ._+- only, no leading dot or dash); not used` };
}
