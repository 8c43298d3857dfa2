// Bundles the agent into one CommonJS file, dist/si-agent.cjs, runnable as `node dist/si-agent.cjs ...`.
import { build } from 'esbuild';
import { noNativeAddons, noWebRtc } from './bundle-plugins.mjs';
import { readFileSync, chmodSync, statSync, writeFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

const options = {
  entryPoints: ['agent/main.ts'],
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  outfile: 'dist/si-agent.cjs',
  banner: { js: '#!/usr/bin/env node' },
  define: { SI_AGENT_VERSION: JSON.stringify(pkg.version) },
  sourcemap: false,
  legalComments: 'none',
  plugins: [noNativeAddons, noWebRtc],
  logLevel: 'warning',
};
await build(options);
chmodSync('dist/si-agent.cjs', 0o755);

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
const bundleBytes = statSync('dist/si-agent.cjs').size;
const bareBytes = bare.outputFiles.reduce((n, f) => n + f.contents.length, 0);
writeFileSync('dist/si-agent.parts.json', JSON.stringify({ bundleBytes, webtorrentBytes: bundleBytes - bareBytes }, null, 2) + '\n');
