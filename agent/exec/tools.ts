// The table of external tools and system paths; tests and odd systems override entries by environment, never by code.

import { existsSync, readFileSync } from 'node:fs';

/** Tool name -> default program (looked up in PATH when not absolute). */
const TOOLS: Record<string, string> = {
  parted: 'parted',
  partprobe: 'partprobe',
  blockdev: 'blockdev',
  udevadm: 'udevadm',
  wipefs: 'wipefs',
  mdadm: 'mdadm',
  lvm: 'lvm',
  'mkfs.ext2': 'mkfs.ext2',
  'mkfs.ext3': 'mkfs.ext3',
  'mkfs.ext4': 'mkfs.ext4',
  'mkfs.xfs': 'mkfs.xfs',
  'mkfs.btrfs': 'mkfs.btrfs',
  'mkfs.vfat': 'mkfs.vfat',
  mkswap: 'mkswap',
  tune2fs: 'tune2fs',
  mount: 'mount',
  umount: 'umount',
  lsblk: 'lsblk',
  blkid: 'blkid',
  rsync: 'rsync',
  chroot: 'chroot',
  sh: 'sh',
  sync: 'sync',
  ip: 'ip',
  ssh: 'ssh',
  sshd: 'sshd',
  'udp-receiver': 'udp-receiver',
  kexec: 'kexec',
  modprobe: 'modprobe',
  losetup: 'losetup',
  ping: 'ping',
  rdisc6: 'rdisc6',
  tini: 'tini',
  script: 'script',
};

/** Resolves a tool name: SI_TOOL_<NAME> (dots and dashes as _) wins over the table. */
export function toolPath(tool: string): string {
  const envName = 'SI_TOOL_' + tool.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  const fromEnv = process.env[envName];
  if (fromEnv) return fromEnv;
  return TOOLS[tool] ?? tool;
}

/**
 * The argv for a simple `ip` command (link up, route replace/del): in the initrd (PID 1 and its worker) the static
 * busybox applet, which starts several times faster than iproute2 emulated; elsewhere iproute2's ip.
 */
export function ipCommand(args: readonly string[], env: NodeJS.ProcessEnv = process.env, busybox = '/usr/bin/busybox'): [string, string[]] {
  if ((env.SI_PID1 === '1' || process.pid === 1) && existsSync(busybox)) return [busybox, ['ip', ...args]];
  return ['ip', [...args]];
}

/** A sysfs (or proc) file's text, trimmed; undefined when it cannot be read. */
export function readSysfs(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** System paths the agent reads and writes; SI_ROOT prefixes the initrd-side ones for tests. */
export function systemPaths(env: NodeJS.ProcessEnv = process.env) {
  const root = env.SI_ROOT ?? '';
  return {
    cmdline: root + '/proc/cmdline',
    localCfg: root + '/local.cfg',
    tmp: env.SI_TMP ?? root + '/tmp',
    log: env.SI_LOG ?? root + '/tmp/si.log',
    resolvConf: env.SI_RESOLV_CONF ?? root + '/etc/resolv.conf',
    sysroot: env.SI_SYSROOT ?? '/sysroot',
    issue: root + '/etc/issue',
    procMounts: root + '/proc/self/mounts',
    sysBlock: root + '/sys/block',
    /** Private keys (id_*) and authorized_keys of the initrd's root user (SI_SSH_DIR: this directory alone). */
    sshDir: env.SI_SSH_DIR ?? root + '/root/.ssh',
    /** A 4.3 master's world (run mode): the functions' helpers and shims, its target, its scripts and torrents. */
    compatDir: env.SI_COMPAT_DIR ?? root + '/usr/lib/si-agent/compat',
    masterTarget: env.SI_MASTER_TARGET ?? root + '/a',
    masterScripts: env.SI_MASTER_SCRIPTS ?? root + '/scripts',
    masterTorrents: env.SI_MASTER_TORRENTS ?? root + '/torrents',
    masterCalls: env.SI_MASTER_CALLS ?? root + '/run/si-agent/calls',
    /** authorized_keys as older boot packages baked it. */
    etcSshAuthorizedKeys: env.SI_SSH_DIR ? env.SI_SSH_DIR + '/authorized_keys' : root + '/etc/ssh/authorized_keys',
  };
}
