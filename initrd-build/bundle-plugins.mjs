// esbuild plugins that keep native addons and WebRTC out of the agent's bundle (bundle.mjs, benches that bundle agent code).

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
export const noWebRtc = {
  name: 'no-webrtc',
  setup(b) {
    const filter = new RegExp(`^(${Object.keys(stubs).join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, (args) => ({ contents: stubs[args.path], loader: 'js' }));
  },
};

