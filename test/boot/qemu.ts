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
  /** Raw disk images, attached as virtio disks (or IDE for `boot`=disk media, or SCSI: /dev/sda, /dev/sdb, ... in order). */
  disks?: string[];
  diskInterface?: 'virtio' | 'ide' | 'scsi';
  /** Network boot from QEMU's own TFTP server (user networking), e.g. { tftpDir, bootfile: 'pxelinux.0' }. */
  netboot?: { tftpDir: string; bootfile: string };
  /** Guest connections to 10.0.2.100:guestPort go to 127.0.0.1:hostPort on the host (a socat per connection). */
  forwards?: Array<{ guestPort: number; hostPort: number }>;
  /** UEFI with OVMF instead of SeaBIOS. */
  efi?: boolean;
  /** With efi: OVMF as pflash (code read-only) with this writable copy of OVMF_VARS.fd as its NVRAM. */
  efiVars?: string;
  /** QEMU's -boot value, e.g. 'c' (first hard disk). */
  bootOrder?: string;
  /** Texts whose first appearance in the serial log is timed (seconds from QEMU start, in QemuOutcome.marks). */
  marks?: Record<string, RegExp>;
  /** Run QEMU inside this network namespace (`ip netns exec NS qemu-system-x86_64 ...`). */
  netns?: string;
  /** The NIC (virtio-net-pci) on this existing tap device instead of user networking; forwards and netboot need user networking. */
  tap?: { ifname: string; mac?: string };
  /**
   * The NICs (virtio-net-pci, in this order) on UDP datagram netdevs instead of user networking: each sends its frames
   * from 127.0.0.1:localPort to 127.0.0.1:remotePort and takes frames sent to localPort, one frame per datagram (a
   * userspace switch's port). The netdev ids are the given ids (for the monitor's set_link). Each NIC reports 10 Gb/s
   * full duplex, as a data-centre NIC does: an 802.3ad bond runs no LACP on a port of unknown duplex.
   */
  dgram?: Array<{ id: string; mac: string; localPort: number; remotePort: number }>;
  /** A QMP monitor on this unix socket (`-qmp unix:PATH,server=on,wait=off`), for qmpCommand(). */
  qmpSocket?: string;
  /** Called with the serial log at every poll (250 ms) while QEMU runs, e.g. to act on the guest when a text shows. */
  onPoll?: (log: string) => void | Promise<void>;
  memoryMb?: number;
  /** More QEMU arguments, appended as they are (e.g. a USB controller and stick). */
  extraArgs?: string[];
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
  /** Seconds from QEMU start to each of QemuBoot.marks that was seen. */
  marks: Record<string, number>;
}

/** The address the guest reaches the host's loopback services at (guestfwd). */
export const SERVER_IP = '10.0.2.100';

/** Builds the QEMU argv for a boot. */
export function qemuArgs(b: QemuBoot, serialLog: string): string[] {
  const a = ['-accel', 'tcg', '-m', String(b.memoryMb ?? 1024), '-smp', '1', '-display', 'none', '-monitor', 'none', '-no-reboot'];
  a.push('-serial', `file:${serialLog}`);
  const tftp = b.netboot ? `,tftp=${b.netboot.tftpDir},bootfile=${b.netboot.bootfile}` : '';
  const fwd = (b.forwards ?? []).map((f) => `,guestfwd=tcp:${SERVER_IP}:${f.guestPort}-cmd:socat - TCP:127.0.0.1:${f.hostPort}`).join('');
  if (b.qmpSocket) a.push('-qmp', `unix:${b.qmpSocket},server=on,wait=off`);
  if (b.dgram) {
    if (b.tap || b.netboot || b.forwards?.length) throw new Error('qemuArgs: dgram NICs replace the tap and user networking');
    for (const d of b.dgram) {
      a.push('-netdev', `dgram,id=${d.id},local.type=inet,local.host=127.0.0.1,local.port=${d.localPort},remote.type=inet,remote.host=127.0.0.1,remote.port=${d.remotePort}`);
      a.push('-device', `virtio-net-pci,netdev=${d.id},mac=${d.mac},speed=10000,duplex=full`);
    }
  } else if (b.tap) {
    if (b.netboot || b.forwards?.length) throw new Error('qemuArgs: netboot and forwards need user networking, not a tap device');
    a.push('-netdev', `tap,id=n0,ifname=${b.tap.ifname},script=no,downscript=no`, '-device', `virtio-net-pci,netdev=n0${b.tap.mac ? `,mac=${b.tap.mac}` : ''}`);
  } else a.push('-nic', `user,restrict=on,model=virtio-net-pci${tftp}${fwd}`);
  if (b.netboot) a.push('-boot', 'n');
  if (b.efi && b.efiVars) {
    a.push('-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd');
    a.push('-drive', `if=pflash,format=raw,unit=1,file=${b.efiVars}`);
  } else if (b.efi) a.push('-bios', '/usr/share/OVMF/OVMF_CODE.fd');
  if (b.bootOrder) a.push('-boot', b.bootOrder);
  if (b.kernel) a.push('-kernel', b.kernel);
  if (b.initrd) a.push('-initrd', b.initrd);
  // SCSI disks are probed asynchronously: on a busy host sdb can come up before sda. The tests name them in order.
  const scsiSync = b.diskInterface === 'scsi' && b.disks?.length ? ' scsi_mod.scan=sync' : '';
  if (b.append !== undefined) a.push('-append', `${b.append}${scsiSync}`);
  if (b.cdrom) a.push('-cdrom', b.cdrom, '-boot', 'd');
  if (b.diskInterface === 'scsi' && b.disks?.length) {
    // One virtio-scsi controller, each disk its own target in order, so the guest names them sda, sdb, ...
    a.push('-device', 'virtio-scsi-pci,id=scsi0');
    b.disks.forEach((d, i) => a.push('-drive', `file=${d},format=raw,if=none,id=scsidisk${i}`, '-device', `scsi-hd,drive=scsidisk${i},bus=scsi0.0,channel=0,scsi-id=${i},lun=0`));
  } else for (const d of b.disks ?? []) a.push('-drive', `file=${d},format=raw,if=${b.diskInterface ?? 'virtio'}`);
  a.push(...(b.extraArgs ?? []));
  return a;
}

/** Runs QEMU until `until` shows in the serial log, QEMU exits, or the timeout; always kills QEMU. */
export async function bootQemu(b: QemuBoot): Promise<QemuOutcome> {
  const serialLog = join(b.workDir, `serial-${Date.now()}.log`);
  const t0 = Date.now();
  const argv = qemuArgs(b, serialLog);
  const child: ChildProcess = b.netns
    ? spawn('ip', ['netns', 'exec', b.netns, 'qemu-system-x86_64', ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn('qemu-system-x86_64', argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let exitCode: number | null = null;
  let exited = false;
  child.on('exit', (code) => {
    exited = true;
    exitCode = code;
  });
  let initSeconds: number | null = null;
  const marks: Record<string, number> = {};
  const read = () => (existsSync(serialLog) ? readFileSync(serialLog, 'latin1') : '');
  try {
    for (;;) {
      const log = read();
      if (initSeconds === null && log.includes('Run /init as init process')) initSeconds = (Date.now() - t0) / 1000;
      for (const [name, re] of Object.entries(b.marks ?? {})) if (marks[name] === undefined && re.test(log)) marks[name] = (Date.now() - t0) / 1000;
      if (b.onPoll && !exited) await b.onPoll(log);
      if (b.until.test(log)) return { matched: true, log, seconds: (Date.now() - t0) / 1000, initSeconds, exitCode, marks };
      if (exited || Date.now() - t0 > b.timeoutMs) {
        return { matched: false, log: log + (stderr ? `\n--- qemu stderr ---\n${stderr}` : ''), seconds: (Date.now() - t0) / 1000, initSeconds, exitCode, marks };
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
