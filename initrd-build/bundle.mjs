// Bundles the agent into one CommonJS file, dist/si-agent.cjs, runnable as `node dist/si-agent.cjs ...`.
import { build } from 'esbuild';
import { readFileSync, chmodSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

// ssh2 tries an optional compiled crypto addon and cpu-features; the single executable carries no .node files, so both
// resolve to a module that throws, and ssh2 takes its pure JavaScript paths (AES-GCM still runs in Node's OpenSSL).
const noNativeAddons = {
  name: 'no-native-addons',
  setup(b) {
    b.onResolve({ filter: /(\.node$)|^cpu-features$/ }, (args) => ({ path: args.path, namespace: 'no-native' }));
    b.onLoad({ filter: /.*/, namespace: 'no-native' }, (args) => ({
      contents: `throw new Error(${JSON.stringify('native addon not bundled: ' + args.path)});`,
      loader: 'js',
    }));
  },
};

await build({
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
  plugins: [noNativeAddons],
  logLevel: 'warning',
});
chmodSync('dist/si-agent.cjs', 0o755);
