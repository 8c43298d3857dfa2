// The one typed context every install step works on; no module-level state anywhere.

import type { Runner } from '../exec/runner.js';
import type { Reporter } from '../report/events.js';
import type { Params } from '../params/types.js';
import { SiError } from '../errors.js';
import type { Endpoint, TransportInfo } from '../transport/seams.js';

export type Mode = 'init' | 'install' | 'plan';

export interface FlowOptions {
  mode: Mode;
  /** Kernel command line text and where it came from (a file path or "--cmdline"). */
  cmdlineText: string;
  /** local.cfg files given with --local-cfg; null means the SPEC 2 search. */
  localCfgFiles: string[] | null;
  /** Block devices the install may write (--disk); null in init mode means autodetect. */
  disks: string[] | null;
  sysroot: string;
  /** Scratch directory for the scripts module and staging. */
  workdir: string;
  network: boolean;
  performPostAction: boolean;
  /** Extra options for tests and odd servers: rsync daemon port (default 873). */
  rsyncPort: number;
  /** The human log file (default /tmp/si.log), copied into the installed system at the end. */
  logPath?: string;
  /** Private key files for the client-driven SSH tunnel (--ssh-key); empty means the initrd's /root/.ssh/id_*. */
  sshKeys?: string[];
  /** authorized_keys files for SSHD (--authorized-keys); empty means the initrd's /root/.ssh/authorized_keys. */
  authorizedKeys?: string[];
}

/** Everything learned along the way; each step fills in its part. */
export interface FlowState {
  /** local.cfg files as read, kept so DHCP answers can be merged below them later. */
  localCfgs: Array<{ file: string; text: string }>;
  /** The address the image server sees this client by (IPv4, or IPv6 when that is all or the server is on IPv6). */
  clientIp?: string;
  /** The install link's IPv6 address when IPv6 is up (IPv6-only and dual stack alike). */
  clientIp6?: string;
  scriptsDir?: string;
  groups: string[];
  groupOverrides: string[];
  globalOverrides: string[];
  scriptName?: string;
  /** The chosen script's file name in the scripts directory (`compat.master`). */
  scriptFile?: string;
  /** SCRIPT_MODE as it applies to the chosen script (SPEC 5): run it as the install, or read its variables. */
  scriptMode?: 'run' | 'read';
  scriptModeReason?: string;
  overrides: string[];
  preInstallScripts: string[];
  postInstallScripts: string[];
  layoutSource?: string;
  layout?: unknown;
  diskPlan?: unknown;
  diskState?: unknown;
  mounted: boolean;
  imageBytes?: number;
  /** The image size dry run, started as soon as IMAGENAME is known (agent/steps/disks.ts). */
  imageSizeListing?: unknown;
  postAction?: string;
  warnings: string[];
  /** Network sinks to drain before the machine goes away (the monitor's last status must arrive). */
  drains: Array<() => Promise<void>>;
  /** Where the image server's rsync daemon is reached when not directly (an SSH tunnel's local end). */
  rsyncVia?: { host: string; port: number };
  /** The transport the image comes over (console, log, events and monitor say it). */
  transport: TransportName;
  /** What the monitor is told of the transport once it is up (transport, SSH host key), beyond 4.3's fields. */
  transportInfo?: TransportInfo;
  /** Work to stop when the flow ends, however it ends (tunnels, SSH server, seeding clients), last added first. */
  cleanups: Array<() => Promise<void>>;
  /** SSH host keys the image's ssh-keygen makes while the image comes (agent/target/host-keys.ts), until configure takes them. */
  earlyKeygen?: unknown;
  /** Stops the image step's flushing (agent/steps/image.ts): finish calls it before it unmounts. */
  stopFlushing?: () => void;
  /** The network bring-up started while the local.cfg search ran (agent/steps/early-network.ts). */
  earlyNetwork?: unknown;
  /** The BitTorrent peer and its staged tarballs while it seeds (agent/steps/bittorrent-session.ts). */
  bittorrent?: unknown;
  /** The publish tree's base, trusted manifest and HTTP settings (agent/steps/http.ts). */
  http?: unknown;
}

export type TransportName = 'rsync' | 'ssh' | 'sshd' | 'multicast' | 'bittorrent' | 'http';

export interface Ctx {
  opts: FlowOptions;
  run: Runner;
  report: Reporter;
  signal: AbortSignal;
  params: Params;
  state: FlowState;
}

export interface Step {
  name: string;
  title: string;
  /** When present, the step runs only while this holds (run mode's master replaces the native install's steps). */
  when?: (ctx: Ctx) => boolean;
  run(ctx: Ctx): Promise<void>;
}

/** A fresh, empty flow state. */
export function newFlowState(): FlowState {
  return { localCfgs: [], groups: [], groupOverrides: [], globalOverrides: [], overrides: [], preInstallScripts: [], postInstallScripts: [], mounted: false, warnings: [], drains: [], transport: 'rsync', cleanups: [] };
}

/** Sets one parameter in the context (a new map, so earlier snapshots stay as they were). */
export function setParam(ctx: Ctx, name: string, value: string, source: string): void {
  const next = new Map(ctx.params);
  next.set(name, { value, source });
  ctx.params = next;
}

/** A parameter's value, or undefined when unset or empty. */
export function param(ctx: Ctx, name: string): string | undefined {
  const v = ctx.params.get(name)?.value;
  return v === undefined || v === '' ? undefined : v;
}

/** The image server, required from here on. */
export function imageServer(ctx: Ctx): string {
  // Over HTTP(S) the client routes to the publish tree's host when IMAGESERVER is not given.
  const base = param(ctx, 'HTTP_BASE');
  const s = param(ctx, 'IMAGESERVER') ?? (base ? new URL(base).hostname.replace(/^\[|\]$/g, '') : undefined);
  if (!s) throw new SiError('E_PARAM', 'IMAGESERVER is not set: give it on the kernel command line, in local.cfg, or by DHCP option 140');
  return s;
}

/** The rsync daemon to talk to: through the SSH tunnel when one is up, else IMAGESERVER on the --rsync-port. */
export function rsyncEndpoint(ctx: Ctx): Endpoint {
  if (ctx.state.rsyncVia) return { server: ctx.state.rsyncVia.host, port: ctx.state.rsyncVia.port };
  return { server: imageServer(ctx), port: ctx.opts.rsyncPort };
}

/** Stops what steps left running (tunnels, servers, peers), last started first; a cleanup that fails is a warning. */
export async function runCleanups(ctx: Ctx): Promise<void> {
  for (const cleanup of ctx.state.cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (err) {
      ctx.report.warn(`cleanup failed: ${(err as Error).message}`);
    }
  }
}
