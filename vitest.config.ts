import { defineConfig } from 'vitest/config';

export default defineConfig({
  // webtorrent's WebRTC (native node-datachannel) and uTP addons are not built (install scripts off): agent code that
  // imports webtorrent gets the same stand-in the bundle has.
  resolve: {
    alias: {
      'webrtc-polyfill': new URL('./test/helpers/no-webrtc.cjs', import.meta.url).pathname,
      'utp-native': new URL('./test/helpers/no-utp.cjs', import.meta.url).pathname,
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // System tests share loop devices, dm and md namespaces: run files one at a time.
    fileParallelism: false,
    reporters: ['default'],
    // Run through vite (not Node's loader) so the aliases above reach webtorrent's imports.
    server: { deps: { inline: [/\/node_modules\/(webtorrent|torrent-discovery|bittorrent-tracker|@thaunknown\/simple-peer)\//] } },
  },
});
