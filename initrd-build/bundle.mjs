// Bundles the agent into one CommonJS file, dist/si-agent.cjs, runnable as `node dist/si-agent.cjs ...`.
import { build } from 'esbuild';
import { readFileSync, chmodSync, statSync, writeFileSync } from 'node:fs';

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

// webtorrent reaches WebRTC through webrtc-polyfill (native node-datachannel) and uTP through utp-native; ws tries two
// native helpers. None is in the single executable: WebRTC resolves to classes that refuse to be built (TCP peers only),
// uTP and the ws helpers to modules that are absent, so webtorrent and ws take their TCP and JavaScript paths.
const stubs = {
  'webrtc-polyfill': `class NoWebRtc { constructor() { throw new Error('WebRTC is not bundled: TCP peers only'); } }
    module.exports = { RTCPeerConnection: NoWebRtc, RTCSessionDescription: NoWebRtc, RTCIceCandidate: NoWebRtc, RTCDataChannel: NoWebRtc };`,
  'utp-native': 'module.exports = {};',
  bufferutil: "throw new Error('bufferutil not bundled');",
  'utf-8-validate': "throw new Error('utf-8-validate not bundled');",
};
const noWebRtc = {
  name: 'no-webrtc',
  setup(b) {
    const filter = new RegExp(`^(${Object.keys(stubs).join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, (args) => ({ contents: stubs[args.path], loader: 'js' }));
  },
};

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
