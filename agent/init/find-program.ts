// Looks a program up in PATH, as a shell would, for the few places that must know whether it exists.

import { existsSync } from 'node:fs';

/** Finds a program in PATH (or an absolute path); undefined when absent. */
export function findProgram(name: string, path = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'): string | undefined {
  if (name.startsWith('/')) return existsSync(name) ? name : undefined;
  for (const dir of path.split(':')) if (dir && existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  return undefined;
}
