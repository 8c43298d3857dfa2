// Writes the initrd's root skeleton: usrmerge links, empty mount points, /dev/console, /etc files, and run mode's compat files.

import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { $sync } from './zx.ts';

const DIRS = ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64', 'dev', 'proc', 'sys', 'run', 'tmp', 'sysroot', 'root', 'mnt', 'media', 'var/log', 'var/lib', 'etc/ssh', 'etc/lvm', 'etc/mdadm',
  // What a 4.3 master expects to find: its target /a, TORRENTS_DIR and FLAMETHROWER_DIRECTORY_DIR.
  'a', 'torrents', 'var/lib/systemimager/flamethrower', 'etc/init.d'];
const USRMERGE: Record<string, string> = { bin: 'usr/bin', sbin: 'usr/sbin', lib: 'usr/lib', lib64: 'usr/lib64' };

const LVM_CONF = `# si-agent initrd: no udev here, so LVM must make its own device nodes.
devices {
    obtain_device_list_from_udev = 0
    external_device_info_source = "none"
}
activation {
    udev_sync = 0
    udev_rules = 0
    monitoring = 0
}
global {
    use_lvmpolld = 0
    event_activation = 0
}
backup {
    backup = 0
    archive = 0
}
`;

const SSHD_CONFIG = `# si-agent initrd: server-driven install (SSHD=y); host keys are made at start (ssh-keygen -A).
PermitRootLogin prohibit-password
AuthorizedKeysFile /etc/ssh/authorized_keys .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowTcpForwarding yes
PidFile /run/sshd.pid
`;

/** The files of /etc (path inside root -> content); `version` names the agent build in /etc/issue. */
export function etcFiles(version: string): Record<string, string> {
  return {
    'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
    'etc/group': 'root:x:0:\ndisk:x:6:\ntty:x:5:\nnogroup:x:65534:\n',
    'etc/shadow': 'root:*:19000:0:99999:7:::\nsshd:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n',
    'etc/nsswitch.conf': 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n',
    'etc/hosts': '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n',
    'etc/issue': `SystemImager autoinstall client (si-agent ${version})\n\nThe installation failed or was stopped; this shell runs in the initrd.\nThe install log is /tmp/si.log.\n\n`,
    'etc/mdadm/mdadm.conf': 'DEVICE partitions containers\nCREATE owner=root group=disk mode=0660 auto=yes\nHOMEHOST <none>\n',
    'etc/lvm/lvm.conf': LVM_CONF,
    'etc/ssh/sshd_config': SSHD_CONFIG,
    'etc/initrd-release': `NAME="si-agent initrd"\nID=si-agent\nVERSION_ID="${version}"\n`,
    'etc/fstab': '',
  };
}

/** Where the run-mode compat files live in this source tree. */
export const COMPAT_SOURCE_DIR = fileURLToPath(new URL('./compat/', import.meta.url));

/** The compat directory in the initrd; its bin/ goes first in a master's PATH. */
export const COMPAT_DIR = 'usr/lib/si-agent/compat';

/**
 * Run mode's files (source under COMPAT_SOURCE_DIR -> path in the initrd, mode): 4.3's functions for the master, the
 * helper that hands requests to the agent, the BASH_ENV that traces the master, and the shims for what it calls.
 */
export const COMPAT_FILES: readonly { from: string; to: string; mode: number }[] = [
  { from: 'functions', to: 'etc/init.d/functions', mode: 0o644 },
  { from: 'si-agent-call', to: `${COMPAT_DIR}/si-agent-call`, mode: 0o755 },
  { from: 'master-env.sh', to: `${COMPAT_DIR}/master-env.sh`, mode: 0o644 },
  ...['shutdown', 'kexec', 'killall', 'ifconfig', 'udevadm'].map((name) => ({ from: `bin/${name}`, to: `${COMPAT_DIR}/bin/${name}`, mode: 0o755 })),
];

/** Copies the run-mode compat files into root with their modes. */
export function installCompatFiles(root: string, sourceDir = COMPAT_SOURCE_DIR): void {
  for (const f of COMPAT_FILES) {
    const dest = join(root, f.to);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(join(sourceDir, f.from), dest);
    chmodSync(dest, f.mode);
  }
}

/** Creates directories, usrmerge symlinks, /dev/console and /dev/null, the /etc files and the compat files. */
export function writeSkeleton(root: string, version: string): void {
  for (const d of DIRS) mkdirSync(join(root, d), { recursive: true });
  for (const [link, target] of Object.entries(USRMERGE)) {
    if (!existsSync(join(root, link))) symlinkSync(target, join(root, link));
  }
  chmodSync(join(root, 'tmp'), 0o1777);
  chmodSync(join(root, 'root'), 0o700);
  // The kernel opens /dev/console for init before anything mounts devtmpfs.
  if (!existsSync(join(root, 'dev/console'))) $sync()`mknod -m 600 ${join(root, 'dev/console')} c 5 1`;
  if (!existsSync(join(root, 'dev/null'))) $sync()`mknod -m 666 ${join(root, 'dev/null')} c 1 3`;
  for (const [path, content] of Object.entries(etcFiles(version))) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  chmodSync(join(root, 'etc/shadow'), 0o600);
  installCompatFiles(root);
  // /etc/mtab as the usual link, so mount and df see the live table.
  writeMtabLink(root);
}

function writeMtabLink(root: string): void {
  const mtab = join(root, 'etc/mtab');
  rmSync(mtab, { force: true });
  symlinkSync('../proc/self/mounts', mtab);
}
