// esbuild plugin that keeps native addons out of the agent's bundle (bundle.mjs, benches that bundle agent code).

// ssh2 tries an optional compiled crypto addon and cpu-features; the single executable carries no .node files, so both
// resolve to a module that throws, and ssh2 takes its pure JavaScript paths (AES-GCM still runs in Node's OpenSSL).
export const noNativeAddons = {
  name: 'no-native-addons',
  setup(b) {
    b.onResolve({ filter: /(\.node$)|^cpu-features$/ }, (args) => ({ path: args.path, namespace: 'no-native' }));
    b.onLoad({ filter: /.*/, namespace: 'no-native' }, (args) => ({
      contents: `throw new Error(${JSON.stringify('native addon not bundled: ' + args.path)});`,
      loader: 'js',
    }));
  },
};
