// Types of bundle-plugins.mjs for the TypeScript that imports it (benches).
import type { Plugin } from 'esbuild';

export declare const noNativeAddons: Plugin;
export declare const noWebRtc: Plugin;
