// Installs static busybox and its applet links into a staging root, never shadowing a real tool.

import { basename } from 'node:path';
import { $sync } from './zx.ts';
import { copyProgram, linkInRoot, sharedLibrariesOf, findProgram } from './binaries.ts';

/** Applets left out: /init is the agent, so busybox must not pose as init. */
const SKIPPED_APPLETS = new Set(['init', 'linuxrc']);

/** Plans the applet links: list-full paths minus skipped names and names of real tools. */
export function planAppletLinks(listFull: string, realTools: ReadonlySet<string>): { links: string[]; shadowed: string[] } {
  const links: string[] = [];
  const shadowed: string[] = [];
  for (const raw of listFull.split('\n')) {
    const rel = raw.trim().replace(/^\/+/, '');
    if (!rel) continue;
    const name = basename(rel);
    if (SKIPPED_APPLETS.has(name) || name === 'busybox') continue;
    if (realTools.has(name)) shadowed.push(name);
    else links.push('/' + rel);
  }
  return { links, shadowed };
}

export interface BusyboxResult {
  path: string;
  applets: number;
  shadowed: string[];
}

/** Copies busybox (it must be static) to /usr/bin/busybox and links its applets into root. */
export function installBusybox(root: string, realTools: ReadonlySet<string>, program = 'busybox'): BusyboxResult {
  const src = findProgram(program);
  if (!src) throw new Error('busybox not found on the build host (Debian package busybox-static)');
  if (sharedLibrariesOf(src).length > 0) throw new Error(`${src} is dynamically linked: install busybox-static`);
  const dest = '/usr/bin/busybox';
  copyProgram(root, src, dest);
  const list = $sync()`${src} --list-full`.stdout;
  const { links, shadowed } = planAppletLinks(list, realTools);
  for (const link of links) linkInRoot(root, link, dest);
  return { path: dest, applets: links.length, shadowed };
}
