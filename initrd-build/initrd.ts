// Assembles the initrd staging root (agent as /init, tools, busybox, modules, /etc) and packs it.

import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyHostFile, copyLibrariesOf, copyProgram, findProgram, linkInRoot } from './binaries.ts';
import { installBusybox } from './busybox.ts';
import { AGENT_IMAGE, AGENT_IN_IMAGE, AGENT_MOUNT, stageAgentImage } from './agent-image.ts';
import { listTree, writeInitrdArchives, type ArchivePlan, type ArchiveResult } from './cpio.ts';
import { writeSkeleton } from './etc-skeleton.ts';
import type { KernelInfo } from './kernel.ts';
import type { ModuleRequest } from './modules.ts';
import { $sync } from './zx.ts';
import { largestParts, type SizedPart } from './sizes.ts';
import { stageModules } from './stage-modules.ts';
import { HOST_DATA_FILES, TOOLS } from './tool-list.ts';

export interface InitrdOptions {
  kernel: KernelInfo;
  modules: readonly ModuleRequest[];
  /** The agent executable that becomes /init. */
  agent: string;
  agentVersion: string;
  out: string;
  localCfg?: string;
  sshKey?: string;
  authorizedKeys?: string;
  /** zstd level of the agent's archive (/init); default 19. */
  zstdLevel?: number;
  /** Compress everything as one xz -9e archive instead (the kernel unpacks both). */
  xz?: boolean;
  /** Where compressed archives are cached (e.g. <project>/.cache/initrd-parts); without it nothing is cached. */
  cacheDir?: string;
  /** Keep the staging directory (its path is returned). */
  keepStaging?: boolean;
  /**
   * Carry the agent as a squashfs image mounted by a small /init (agent-image.ts): about 80 MB less RAM held by the
   * initrd, for an agent start that decompresses what it touches (about a second longer emulated). Needs mksquashfs
   * on the build host and loop and squashfs in the kernel; not with xz.
   */
  agentImage?: boolean;
}

/**
 * Default zstd level of the agent's archive: cached per agent build, so its cost is paid once per change. A 4 MB
 * window (wlog 22) instead of level 19's 8 MB costs 1% in size and makes compression three times faster here.
 */
export const AGENT_ZSTD_LEVEL = 19;
const AGENT_WINDOW_LOG = 22;

/**
 * The tools, libraries and kernel modules: the same for every build on a host, so compressed hard and cached.
 * No --long: a 128 MB window made the kernel's unpacking slower under emulation.
 */
const SYSTEM_COMPRESSION = { kind: 'zstd', level: 19 } as const;

export interface InitrdResult {
  path: string;
  compressedBytes: number;
  uncompressedBytes: number;
  entries: number;
  modules: string[];
  builtinModules: string[];
  absentOptionalModules: string[];
  tools: string[];
  skippedTools: string[];
  busyboxApplets: number;
  largestFiles: SizedPart[];
  largestDirs: SizedPart[];
  /** The concatenated archives the initrd is made of, in order. */
  archives: ArchiveResult[];
  /** The agent is a squashfs image (AGENT_IMAGE) mounted by /init, not /init itself. */
  agentImage: boolean;
  seconds: { stage: number; pack: number };
  staging?: string;
}

/** The /root/.ssh name for a private key, from the type of its public half. */
export function sshKeyName(keyFile: string): string {
  const pub = $sync()`ssh-keygen -y -f ${keyFile}`.stdout.trim();
  if (pub.startsWith('ssh-ed25519')) return 'id_ed25519';
  if (pub.startsWith('ecdsa-')) return 'id_ecdsa';
  if (pub.startsWith('ssh-rsa')) return 'id_rsa';
  throw new Error(`${keyFile}: unsupported SSH key type: ${pub.split(' ')[0]}`);
}

/** Copies the real tools (and their links) into root; returns copied and skipped names. */
function installTools(root: string): { tools: string[]; skipped: string[]; names: Set<string> } {
  const tools: string[] = [];
  const skipped: string[] = [];
  const names = new Set<string>();
  for (const spec of TOOLS) {
    if (!findProgram(spec.name)) {
      if (!spec.optional) throw new Error(`required program ${spec.name} not found on the build host (see fixtures/install-deps.sh)`);
      skipped.push(spec.name);
      continue;
    }
    const { path } = copyProgram(root, spec.name);
    const dir = path.slice(0, path.lastIndexOf('/'));
    for (const link of spec.links ?? []) {
      linkInRoot(root, `${dir}/${link}`, spec.name);
      names.add(link);
    }
    tools.push(spec.name);
    names.add(spec.name);
  }
  for (const f of HOST_DATA_FILES) copyHostFile(root, f);
  return { tools, skipped, names };
}

/** Bakes in the optional local.cfg and SSH material. */
function installSiteFiles(root: string, opts: InitrdOptions): void {
  if (opts.localCfg) copyFileSync(opts.localCfg, join(root, 'local.cfg'));
  if (opts.sshKey) {
    mkdirSync(join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
    const dest = join(root, 'root/.ssh', sshKeyName(opts.sshKey));
    copyFileSync(opts.sshKey, dest);
    chmodSync(dest, 0o600);
  }
  if (opts.authorizedKeys) {
    // Where the agent's SSH server (SSHD=y) looks first: root's own authorized_keys.
    mkdirSync(join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
    copyFileSync(opts.authorizedKeys, join(root, 'root/.ssh/authorized_keys'));
    chmodSync(join(root, 'root/.ssh/authorized_keys'), 0o600);
  }
}

/**
 * Splits the staged paths into the initrd's archives: the system (everything under /usr but the agent's link), the
 * agent executable, and the rest (skeleton, /etc, site files), which is small and differs from build to build.
 */
export function planArchives(paths: readonly string[], opts: Pick<InitrdOptions, 'zstdLevel' | 'xz'>): ArchivePlan[] {
  if (opts.xz) return [{ name: 'initrd', paths: [...paths], compression: { kind: 'xz' } }];
  if (paths.includes(AGENT_IMAGE)) {
    // The image is compressed already: zstd -1 stores it as raw blocks the kernel copies at memory speed.
    const isSystem = (p: string) => (p === 'usr' || p.startsWith('usr/')) && p !== 'usr/bin/si-agent' && p !== AGENT_IMAGE;
    return [
      { name: 'system', paths: paths.filter(isSystem), compression: SYSTEM_COMPRESSION, cache: true },
      { name: 'agent', paths: [AGENT_IMAGE], compression: { kind: 'zstd', level: 1 } },
      { name: 'site', paths: paths.filter((p) => !isSystem(p) && p !== AGENT_IMAGE), compression: { kind: 'zstd', level: 10 } },
    ];
  }
  const isSystem = (p: string) => (p === 'usr' || p.startsWith('usr/')) && p !== 'usr/bin/si-agent';
  return [
    { name: 'system', paths: paths.filter(isSystem), compression: SYSTEM_COMPRESSION, cache: true },
    { name: 'agent', paths: ['init'], compression: { kind: 'zstd', level: opts.zstdLevel ?? AGENT_ZSTD_LEVEL, windowLog: AGENT_WINDOW_LOG }, cache: true },
    { name: 'site', paths: paths.filter((p) => !isSystem(p) && p !== 'init'), compression: { kind: 'zstd', level: 10 } },
  ];
}

/** Builds the initrd image at opts.out. */
export async function buildInitrd(opts: InitrdOptions): Promise<InitrdResult> {
  const t0 = Date.now();
  const root = mkdtempSync(join(tmpdir(), 'si-initrd.'));
  let ok = false;
  try {
    writeSkeleton(root, opts.agentVersion);
    const { tools, skipped, names } = installTools(root);
    const bb = installBusybox(root, names);
    const mods = stageModules(root, opts.kernel, opts.modules);
    const image = opts.agentImage === true && !opts.xz && stageAgentImage(root, opts.kernel.version, opts.agent, opts.cacheDir);
    if (image) {
      copyLibrariesOf(root, opts.agent);
      linkInRoot(root, '/usr/bin/si-agent', `${AGENT_MOUNT}/${AGENT_IN_IMAGE}`);
    } else {
      if (opts.agentImage === true) throw new Error('--agent-image: needs mksquashfs on this host (squashfs-tools), the loop and squashfs modules in the kernel, and no --xz');
      copyProgram(root, opts.agent, '/init');
      linkInRoot(root, '/usr/bin/si-agent', '/init');
    }
    installSiteFiles(root, opts);
    writeFileSync(join(root, 'etc/si-agent-kernel'), `${opts.kernel.version}\n`);
    const parts = largestParts(root, 10);
    const t1 = Date.now();
    const paths = listTree(root);
    const archives = await writeInitrdArchives(root, opts.out, planArchives(paths, opts), { cacheDir: opts.cacheDir });
    const t2 = Date.now();
    ok = true;
    return {
      path: opts.out,
      compressedBytes: statSync(opts.out).size,
      uncompressedBytes: archives.reduce((n, a) => n + a.bytes, 0),
      entries: paths.length,
      modules: mods.files,
      builtinModules: mods.builtin,
      absentOptionalModules: mods.absentOptional,
      tools,
      skippedTools: skipped,
      busyboxApplets: bb.applets,
      largestFiles: parts.files,
      largestDirs: parts.dirs,
      archives,
      agentImage: image,
      seconds: { stage: (t1 - t0) / 1000, pack: (t2 - t1) / 1000 },
      staging: opts.keepStaging ? root : undefined,
    };
  } finally {
    if (!ok || !opts.keepStaging) rmSync(root, { recursive: true, force: true });
  }
}
