// Writes DIR/manifest.json: versions, sizes, sha256 of each artefact, module and tool lists, largest parts.

import { createHash } from 'node:crypto';
import { createReadStream, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { IcuTrimResult } from './icu-data.ts';
import type { InitrdResult } from './initrd.ts';
import type { KernelInfo } from './kernel.ts';

export interface ArtefactInfo {
  file: string;
  bytes: number;
  sha256: string;
}

/** sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Size and hash of each artefact. */
export async function describeArtefacts(paths: readonly string[]): Promise<ArtefactInfo[]> {
  const out: ArtefactInfo[] = [];
  for (const p of paths) out.push({ file: basename(p), bytes: statSync(p).size, sha256: await sha256File(p) });
  return out;
}

export interface ManifestInput {
  flavor: string;
  append: string;
  agentVersion: string;
  nodeVersion: string;
  seaBytes: number;
  /** Bytes of the bundle by part (bundle.mjs writes dist/si-agent.parts.json): the main bundle and each side bundle. */
  agentParts?: Record<string, number>;
  /** What trimming Node's ICU data kept and dropped. */
  icu?: IcuTrimResult;
  kernel: KernelInfo;
  initrd: InitrdResult;
  zstdLevel: number;
  xz: boolean;
  artefacts: ArtefactInfo[];
  configs: string[];
  buildSeconds: number;
}

/** Builds the manifest object (stable key order, no host paths except the kernel's source). */
export function buildManifest(m: ManifestInput): Record<string, unknown> {
  return {
    format: 1,
    flavor: m.flavor,
    agent: {
      version: m.agentVersion,
      node: m.nodeVersion,
      bytes: m.seaBytes,
      ...(m.agentParts ? { bundle: m.agentParts } : {}),
      ...(m.icu ? { icu: m.icu } : {}),
    },
    kernel: { version: m.kernel.version, package: m.kernel.package ?? null, source: m.kernel.vmlinuz },
    append: m.append,
    initrd: {
      compression: m.initrd.archives.map((a) => `${a.name}: ${a.compression}`).join(', '),
      archives: m.initrd.archives,
      agentImage: m.initrd.agentImage,
      compressedBytes: m.initrd.compressedBytes,
      uncompressedBytes: m.initrd.uncompressedBytes,
      entries: m.initrd.entries,
      busyboxApplets: m.initrd.busyboxApplets,
      tools: m.initrd.tools,
      skippedTools: m.initrd.skippedTools,
      largestFiles: m.initrd.largestFiles,
      largestDirs: m.initrd.largestDirs,
    },
    modules: {
      count: m.initrd.modules.length,
      files: m.initrd.modules,
      builtin: m.initrd.builtinModules,
      absentOptional: m.initrd.absentOptionalModules,
    },
    artefacts: m.artefacts,
    configs: m.configs,
    buildSeconds: m.buildSeconds,
  };
}

/** Writes the manifest as pretty JSON. */
export function writeManifest(path: string, manifest: Record<string, unknown>): void {
  writeFileSync(path, JSON.stringify(manifest, null, 2) + '\n');
}
