// Boots QEMU (TCG, user networking with restrict=on) with the serial console in a file, and waits for text in it.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface QemuBoot {
  /** Directory for the serial log (the test's temp dir). */
  workDir: string;
  kernel?: string;
  initrd?: string;
  append?: string;
  cdrom?: string;
  /** Raw disk images, attached as virtio disks (or IDE for `boot`=disk media). */
  disks?: string[];
  diskInterface?: 'virtio' | 'ide';
  /** Network boot from QEMU's own TFTP server (user networking), e.g. { tftpDir, bootfile: 'pxelinux.0' }. */
  netboot?: { tftpDir: string; bootfile: string };
  /** Guest connections to 10.0.2.100:guestPort go to 127.0.0.1:hostPort on the host (a socat per connection). */
  forwards?: Array<{ guestPort: number; hostPort: number }>;
  /** UEFI with OVMF instead of SeaBIOS. */
  efi?: boolean;
  memoryMb?: number;
  /** Text that ends the wait successfully. */
  until: RegExp;
  timeoutMs: number;
}

export interface QemuOutcome {
  matched: boolean;
  log: string;
  seconds: number;
  /** Seconds from QEMU start to "Run /init as init process", when seen. */
  initSeconds: number | null;
  exitCode: number | null;
}

/** The address the guest reaches the host's loopback services at (guestfwd). */
export const SERVER_IP = '10.0.2.100';

/** Builds the QEMU argv for a boot. */
export function qemuArgs(b: QemuBoot, serialLog: string): string[] {
  const a = ['-accel', 'tcg', '-m', String(b.memoryMb ?? 1024), '-smp', '1', '-display', 'none', '-monitor', 'none', '-no-reboot'];
  a.push('-serial', `file:${serialLog}`);
  const tftp = b.netboot ? `,tftp=${b.netboot.tftpDir},bootfile=${b.netboot.bootfile}` : '';
  const fwd = (b.forwards ?? []).map((f) => `,guestfwd=tcp:${SERVER_IP}:${f.guestPort}-cmd:socat - TCP:127.0.0.1:${f.hostPort}`).join('');
  a.push('-nic', `user,restrict=on,model=virtio-net-pci${tftp}${fwd}`);
  if (b.netboot) a.push('-boot', 'n');
  if (b.efi) a.push('-bios', '/usr/share/OVMF/OVMF_CODE.fd');
  if (b.kernel) a.push('-kernel', b.kernel);
  if (b.initrd) a.push('-initrd', b.initrd);
  if (b.append !== undefined) a.push('-append', b.append);
  if (b.cdrom) a.push('-cdrom', b.cdrom, '-boot', 'd');
  for (const d of b.disks ?? []) a.push('-drive', `file=${d},format=raw,if=${b.diskInterface ?? 'virtio'}`);
  return a;
}

/** Runs QEMU until `until` shows in the serial log, QEMU exits, or the timeout; always kills QEMU. */
export async function bootQemu(b: QemuBoot): Promise<QemuOutcome> {
  const serialLog = join(b.workDir, `serial-${Date.now()}.log`);
  const t0 = Date.now();
  const child: ChildProcess = spawn('qemu-system-x86_64', qemuArgs(b, serialLog), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let exitCode: number | null = null;
  let exited = false;
  child.on('exit', (code) => {
    exited = true;
    exitCode = code;
  });
  let initSeconds: number | null = null;
  const read = () => (existsSync(serialLog) ? readFileSync(serialLog, 'latin1') : '');
  try {
    for (;;) {
      const log = read();
      if (initSeconds === null && log.includes('Run /init as init process')) initSeconds = (Date.now() - t0) / 1000;
      if (b.until.test(log)) return { matched: true, log, seconds: (Date.now() - t0) / 1000, initSeconds, exitCode };
      if (exited || Date.now() - t0 > b.timeoutMs) {
        return { matched: false, log: log + (stderr ? `\n--- qemu stderr ---\n${stderr}` : ''), seconds: (Date.now() - t0) / 1000, initSeconds, exitCode };
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    if (!exited) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
  }
}

/** The last lines of a serial log, for failure messages. */
export function tailOf(log: string, lines = 40): string {
  return log.split('\n').slice(-lines).join('\n');
}
