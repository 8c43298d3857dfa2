// Bundles the agent into one CommonJS file, dist/si-agent.cjs, runnable as `node dist/si-agent.cjs ...`.
import { build } from 'esbuild';
import { noNativeAddons, noWebRtc } from './bundle-plugins.mjs';
import { readFileSync, chmodSync, renameSync, statSync, writeFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

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
  plugins: [noNativeAddons, noWebRtc],
  logLevel: 'warning',
};
await build(options);
chmodSync(options.outfile, 0o755);
const bundleBytes = statSync(options.outfile).size;
renameSync(options.outfile, 'dist/si-agent.cjs');

// What webtorrent (with everything only it pulls in) adds to the bundle: the same build with it replaced by an empty
// module, not written; the boot package's manifest.json reports the difference (dist/si-agent.parts.json).
const withoutWebtorrent = {
  name: 'without-webtorrent',
  setup(b) {
    b.onResolve({ filter: /^webtorrent$/ }, (args) => ({ path: args.path, namespace: 'absent' }));
    b.onLoad({ filter: /.*/, namespace: 'absent' }, () => ({ contents: 'module.exports = class {};', loader: 'js' }));
  },
};
const bare = await build({ ...options, write: false, plugins: [...options.plugins, withoutWebtorrent] });
const bareBytes = bare.outputFiles.reduce((n, f) => n + f.contents.length, 0);
const partsTmp = `dist/.si-agent.parts.json.${process.pid}`;
writeFileSync(partsTmp, JSON.stringify({ bundleBytes, webtorrentBytes: bundleBytes - bareBytes }, null, 2) + '\n');
renameSync(partsTmp, 'dist/si-agent.parts.json');
