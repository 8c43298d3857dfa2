// Bundles the agent into one CommonJS file, dist/si-agent.cjs, runnable as `node dist/si-agent.cjs ...`.
import { build } from 'esbuild';
import { readFileSync, chmodSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

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
  logLevel: 'warning',
});
chmodSync('dist/si-agent.cjs', 0o755);
