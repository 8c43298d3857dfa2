// Loads a dependency kept out of the agent's main bundle: ssh2 is most of the agent's code and only its transports
// use it, yet every process start paid for its bytes (V8 reads the whole script and its
// code cache: about 0.1 s per start, emulated). bundle.mjs builds it into its own CommonJS file beside the main one
// (dist/si-agent-<name>.cjs); the single executable carries them as assets. Compiled when first required.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

export const SIDE_BUNDLES = ['ssh2'] as const;
export type SideBundle = (typeof SIDE_BUNDLES)[number];

/** The file name of a side bundle, beside the main bundle in dist/ and as the executable's asset name. */
export function sideBundleFile(name: SideBundle): string {
  return `si-agent-${name}.cjs`;
}

/** `node:sea` when this process is the single executable, else undefined. */
function seaApi(req: NodeJS.Require): { getAsset(key: string, encoding: string): string } | undefined {
  try {
    const sea = req('node:sea') as { isSea(): boolean; getAsset(key: string, encoding: string): string };
    return sea.isSea() ? sea : undefined;
  } catch {
    return undefined;
  }
}

/** The side bundle's exports (`default`: the package's default export): from the executable's asset, else from the file beside this bundle. */
export function loadSideBundle(name: SideBundle): unknown {
  const main = typeof __filename === 'string' ? __filename : process.execPath;
  const req = createRequire(main);
  const file = sideBundleFile(name);
  const sea = seaApi(req);
  if (!sea) return req(join(dirname(main), file));
  const source = sea.getAsset(file, 'utf8');
  const wrapper = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file }).runInThisContext() as (
    exports: unknown, require: NodeJS.Require, module: { exports: unknown }, filename: string, dir: string) => void;
  const mod = { exports: {} as unknown };
  wrapper(mod.exports, req, mod, join(dirname(process.execPath), file), dirname(process.execPath));
  return mod.exports;
}
