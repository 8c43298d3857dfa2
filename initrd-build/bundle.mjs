// Bundles the agent into CommonJS files: dist/si-agent.cjs, runnable as `node dist/si-agent.cjs ...`, and beside it one
// file per side bundle (ssh2: agent/side-bundle.ts), which the main one loads when a transport needs it.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { noNativeAddons } from './bundle-plugins.mjs';
import { readFileSync, chmodSync, renameSync, statSync, writeFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

const SIDE = ['ssh2']; // agent/side-bundle.ts SIDE_BUNDLES
const sideLoader = fileURLToPath(new URL('../agent/side-bundle.ts', import.meta.url));

// In the main bundle, `import x from 'ssh2'` becomes the side bundle's default, loaded on first use.
const sideBundles = {
  name: 'side-bundles',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${SIDE.join('|')})$`) }, (args) => ({ path: args.path, namespace: 'side' }));
    b.onLoad({ filter: /.*/, namespace: 'side' }, (args) => ({
      contents: `import { loadSideBundle } from ${JSON.stringify(sideLoader)};\nexport default loadSideBundle(${JSON.stringify(args.path)}).default;\n`,
      loader: 'js',
      resolveDir: process.cwd(),
    }));
  },
};

const options = {
  entryPoints: ['agent/main.ts'],
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  // Written under a name of this process's own, then renamed: builds running at the same time never see half a file.
  outfile: `dist/.si-agent.cjs.${process.pid}`,
  banner: { js: '#!/usr/bin/env node' },
  define: { SI_AGENT_VERSION: JSON.stringify(pkg.version) },
  sourcemap: false,
  legalComments: 'none',
  plugins: [noNativeAddons, sideBundles],
  logLevel: 'warning',
};

// Each side bundle: the package's default export (ssh2's module object) as `default` of a CommonJS module of its own;
// all the agent imports of it is the default.
const sideBytes = {};
for (const name of SIDE) {
  const outfile = `dist/.si-agent-${name}.cjs.${process.pid}`;
  await build({
    ...options,
    entryPoints: undefined,
    stdin: { contents: `export { default } from '${name}';\n`, resolveDir: process.cwd(), loader: 'js' },
    outfile,
    banner: {},
    plugins: [noNativeAddons],
  });
  sideBytes[name] = statSync(outfile).size;
  renameSync(outfile, `dist/si-agent-${name}.cjs`);
}

// The main bundle last: a reader that sees it new finds the side bundles it loads already there.
await build(options);
chmodSync(options.outfile, 0o755);
const bundleBytes = statSync(options.outfile).size;
renameSync(options.outfile, 'dist/si-agent.cjs');

// The boot package's manifest.json reports the sizes (dist/si-agent.parts.json).
const partsTmp = `dist/.si-agent.parts.json.${process.pid}`;
writeFileSync(partsTmp, JSON.stringify({ bundleBytes, ssh2Bytes: sideBytes.ssh2 }, null, 2) + '\n');
renameSync(partsTmp, 'dist/si-agent.parts.json');
