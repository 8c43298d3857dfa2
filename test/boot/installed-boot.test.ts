// Boot tier (root, QEMU with TCG only: no KVM here; needs qemu-system-x86_64, socat, rsync, debootstrap or its cache,
// OVMF for UEFI, mtools to look into the ESP): boots what the agent installed. The agent as /init installs a real
// Debian bookworm image (fixtures/debian-image) over rsync onto a blank virtio disk with a static address, then:
//  - BIOS: installed over VLAN 42 tagged on an active-backup bond of two NICs named lan0 and lan1 by MAC, with MTU
//    9000 and static IPv4 and IPv6 (dracut's ifname=, bond=, vlan=, ip= words), POST_ACTION=reboot (QEMU -no-reboot
//    exits there); a second QEMU boots that disk alone with SeaBIOS to the installed system's `node101 login:` on
//    ttyS0: its udev names the NICs lan0 and lan1 again (the .link files the agent wrote) and its own ifupdown (with
//    ifenslave) brings up the same bond over them, the same VLAN, MTU and both addresses;
//  - UEFI: the same under OVMF (gpt + ESP, GRUB x86_64-efi on the removable path EFI/BOOT/BOOTX64.EFI);
//  - kexec and directboot reach the installed login prompt in the installer's own QEMU process (no firmware reboot);
//    directboot also over the bond and VLAN: PID 1 deletes the install's bond and VLAN before switch_root, and the
//    installed system makes them again from its configuration;
// The bond + VLAN cases' NICs are QEMU dgram ports on a userspace switch in a namespace (vlan-lab.ts: this host's
// kernel cannot tag), trunk ports carrying VLAN 42 tagged; the server (its addresses and an rsync daemon on the same
// image tree) sits on the switch's access port. The other cases use QEMU's user networking.
//  - two installs of one image get different machine-ids and SSH host keys;
//  - an image without a kernel ends in the shellout naming what is missing, before the post-install action, with the
//    disk left mountable.
// Each install takes about 4 minutes under TCG (rsync of ~400 MB, then ssh-keygen, update-initramfs and update-grub
// chrooted), each first boot about 1 minute; with two QEMUs at a time the file took about 11 minutes on a 2-core host
// (SI_BOOT_SEQUENTIAL=1: about 20). SI_BOOT_LOGS=DIR keeps the serial logs.

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageServer, startRsyncd, type ImageServerInfo } from '../../fixtures/image-server/make-image-server.ts';
import { publishDebianImage, NOKERNEL_IMAGE, type PublishResult, type TestHost } from '../../fixtures/debian-image/publish-debian-image.ts';
import type { PackageResult } from '../../initrd-build/build-package.ts';
import { buildTestPackage, canBoot, removeTestDir } from './package-fixture.ts';
import { bootQemu, SERVER_IP, tailOf, type QemuBoot, type QemuOutcome } from './qemu.ts';
import { canRunNetTests, createLab, waitFor, type Lab } from '../system/lib-net/netns.ts';
import { startVlanSwitch, type TrunkNic, type VlanSwitch } from './vlan-lab.ts';

const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd';
const CACHED_ROOT = join(import.meta.dirname, '../../.cache/debootstrap/bookworm-grub/.si-complete');

function skipReason(): string | null {
  if (!canBoot()) return 'needs root and qemu-system-x86_64';
  if (!existsSync('/usr/bin/socat')) return 'needs socat (QEMU guestfwd)';
  if (!existsSync('/usr/bin/rsync')) return 'needs rsync';
  if (!existsSync('/usr/sbin/debootstrap') && !existsSync(CACHED_ROOT)) return 'needs debootstrap (or the cached Debian root)';
  if (!canRunNetTests() || !existsSync('/dev/net/tun')) return 'needs ip netns and /dev/net/tun (the VLAN switch)';
  return null;
}
const reason = skipReason();
if (reason) console.warn(`installed-boot skipped: ${reason}`);
const uefiReason = !existsSync(OVMF_VARS) ? 'needs OVMF (Debian package ovmf)' : !existsSync('/usr/bin/mdir') ? 'needs mtools (the host kernel may have no vfat)' : null;

const H: Record<'bios' | 'uefi' | 'kexec' | 'directboot' | 'nokernel', TestHost> = {
  // Installed as vdb (a small blank vda beside it), booted as vda alone; /var named in the layout as /dev/vdb3. These
  // are the QEMU guest's names for the test's own disk images, never a host disk.
  bios: { name: 'node101', ip: '10.217.0.51', firmware: 'bios', disk: '/dev/vdb', varPartition: true },
  uefi: { name: 'node102', ip: '10.0.2.52', firmware: 'uefi' },
  kexec: { name: 'node103', ip: '10.0.2.53', firmware: 'bios' },
  directboot: { name: 'node104', ip: '10.217.0.54', firmware: 'bios' },
  nokernel: { name: 'node105', ip: '10.0.2.55', firmware: 'bios', image: NOKERNEL_IMAGE },
};
const NETMASK = '255.255.255.0';
// The bond + VLAN network: the server's addresses on VLAN 42, the hosts' IPv6 addresses, each host's two trunk ports.
const VLAN = 42;
const VSERVER = '10.217.0.1';
const VSERVER6 = 'fd42:217::1';
const V6: Partial<Record<keyof typeof H, string>> = { bios: 'fd42:217::51', directboot: 'fd42:217::54' };
const TRUNKS: Partial<Record<keyof typeof H, TrunkNic[]>> = {
  bios: [
    { id: 'b0', mac: '52:54:00:17:42:01', qemu: 42001, sw: 43001 },
    { id: 'b1', mac: '52:54:00:17:42:02', qemu: 42002, sw: 43002 },
  ],
  directboot: [
    { id: 'd0', mac: '52:54:00:17:42:41', qemu: 42041, sw: 43041 },
    { id: 'd1', mac: '52:54:00:17:42:42', qemu: 42042, sw: 43042 },
  ],
};
const BOND_MTU = 9000;
// The BIOS host names its NICs by MAC (dracut ifname=): the installer renames them, the installed system keeps them.
const IFNAMES: Partial<Record<keyof typeof H, [string, string]>> = { bios: ['lan0', 'lan1'] };
const GATEWAY = '10.0.2.2';
const DISK_MIB = 2048;
const INSTALL_TIMEOUT = 900_000;
const BOOT_TIMEOUT = 600_000;

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const quiet = (cmd: string, args: string[]) => {
  try {
    sh(cmd, args);
  } catch {
    /* best-effort cleanup */
  }
};
const failLog = (r: QemuOutcome, lines = 100) => `serial log (last ${lines} lines):\n${tailOf(r.log, lines)}`;
/** SI_BOOT_LOGS=DIR keeps each serial log there (NAME.log), to read what a passing boot printed. */
const keepLog = (name: string, r: QemuOutcome) => {
  const d = process.env.SI_BOOT_LOGS;
  if (d) writeFileSync(join(d, `${name}.log`), r.log);
};

/** Attaches a disk image (read-only unless writable: ext4 may replay its journal then), runs fn, always detaches. */
function withLoop<T>(img: string, fn: (loop: string) => T, writable = false): T {
  const loop = sh('losetup', [writable ? '-fP' : '-fPr', '--show', img]).trim();
  try {
    quiet('partprobe', [loop]);
    return fn(loop);
  } finally {
    quiet('losetup', ['-d', loop]);
  }
}

/**
 * Mounts a filesystem read-only, runs fn, always unmounts. On a read-only loop an ext4 is mounted without journal
 * replay (noload: the disk may come from a VM killed at its login prompt); on a writable one the kernel replays it.
 */
function withMount<T>(dev: string, dir: string, fn: (mnt: string) => T, replay = false): T {
  const mnt = mkdtempSync(join(dir, 'mnt.'));
  const ext4 = sh('blkid', ['-o', 'value', '-s', 'TYPE', dev]).trim() === 'ext4';
  sh('mount', ['-o', ext4 && !replay ? 'ro,noload' : 'ro', dev, mnt]);
  try {
    return fn(mnt);
  } finally {
    quiet('umount', [mnt]);
    try {
      rmdirSync(mnt);
    } catch {
      /* still busy: the temp dir goes in afterAll */
    }
  }
}

/** The installed NIC name the agent chose ("install NIC eth0 is ens3 in the installed system (...)"). */
function agentNicName(log: string): string {
  const m = /install NIC (\S+) is (\S+) in the installed system/.exec(log);
  expect(m, 'the agent logs the install NIC and its name in the installed system').not.toBeNull();
  return m![2]!;
}

/** The probe's line of the installed system (fixtures/debian-image: si-fixture-report). */
function probe(log: string): { hostname?: string; machineId?: string; addrs: string[] } {
  const id = /si-fixture-report: hostname=(\S*) machine-id=(\S*)/.exec(log);
  const addrs = [...log.matchAll(/si-fixture-report: addr (\S+ \S+)/g)].map((m) => m[1]!);
  return { hostname: id?.[1], machineId: id?.[2], addrs };
}

/** Checks the static stanza of /etc/network/interfaces for the NIC. */
function expectStaticStanza(interfaces: string, nic: string, ip: string): void {
  expect(interfaces).toMatch(new RegExp(`^auto ${esc(nic)}$`, 'm'));
  expect(interfaces).toMatch(new RegExp(`^iface ${esc(nic)} inet static\\n\\s+address ${esc(ip)}\\n\\s+netmask ${esc(NETMASK)}\\n\\s+gateway ${esc(GATEWAY)}$`, 'm'));
  expect(interfaces, 'no stanza for the installer kernel name').not.toMatch(/^iface eth0 /m);
}

/**
 * The bond and VLAN stanzas in /etc/network/interfaces (ifupdown with ifenslave); returns the bond's slaves, the NICs
 * as the installed system's udev names them.
 */
function expectBondStanzas(interfaces: string, ip: string, ip6: string, slaveName = /en\S+/): string[] {
  const v = `bond0.${VLAN}`;
  expect(interfaces).toMatch(/^auto bond0$/m);
  const bond = new RegExp(`^iface bond0 inet manual\\n\\tbond-slaves (${slaveName.source}) (${slaveName.source})\\n((?:\\t.*\\n)*)`, 'm').exec(interfaces);
  expect(bond, interfaces).not.toBeNull();
  expect(bond![3]).toMatch(/^\tbond-mode active-backup$/m);
  expect(bond![3]).toMatch(/^\tbond-miimon 100$/m);
  expect(bond![3]).toMatch(new RegExp(`^\\tmtu ${BOND_MTU}$`, 'm'));
  expect(interfaces).toMatch(new RegExp(`^auto ${esc(v)}$`, 'm'));
  expect(interfaces).toMatch(new RegExp(`^iface ${esc(v)} inet static\\n\\taddress ${esc(ip)}\\n\\tnetmask ${esc(NETMASK)}\\n\\tgateway ${esc(VSERVER)}$`, 'm'));
  expect(interfaces).toMatch(new RegExp(`^iface ${esc(v)} inet6 static\\n\\taddress ${esc(ip6)}/64\\n\\tgateway ${esc(VSERVER6)}$`, 'm'));
  expect(interfaces, 'no stanza for an installer kernel name').not.toMatch(/^iface eth\d /m);
  return [bond![1]!, bond![2]!];
}

/**
 * What the installed system printed while booting over the bond: eth0 and eth1 renamed, the bond made again over them
 * (active-backup, MTU 9000), the VLAN on it, both addresses on the VLAN. Returns the bond's slaves as it reports them.
 */
function expectStackUp(log: string, ip: string, ip6: string, slaveName = /en\S+/): string[] {
  const v = `bond0.${VLAN}`;
  expect(log).not.toMatch(/Failed to start networking\.service|Failed to start .*Raise network interfaces/);
  const bond = new RegExp(`si-fixture-report: bond bond0 mode=active-backup slaves=(${slaveName.source}),(${slaveName.source}) mtu=${BOND_MTU}`).exec(log);
  expect(bond, 'the installed system made bond0 (active-backup, MTU 9000) over two NICs').not.toBeNull();
  const slaves = [bond![1]!, bond![2]!];
  for (const n of slaves) expect(log).toMatch(new RegExp(`virtio_net \\S+ ${esc(n)}: renamed from `));
  expect(log).toMatch(new RegExp(`si-fixture-report: vlan ${esc(v)} id=${VLAN} on=bond0 mtu=${BOND_MTU}`));
  expect(probe(log).addrs).toEqual(expect.arrayContaining([`${v} ${ip}/24`, `${v} ${ip6}/64`]));
  return slaves;
}

/** What the installed system printed while booting: the NIC renamed to the configured name, up with the address. */
function expectNetworkUp(log: string, nic: string, ip: string, renamed = true): void {
  if (renamed) expect(log).toMatch(new RegExp(`virtio_net \\S+ ${esc(nic)}: renamed from eth0`));
  expect(log).not.toMatch(/Failed to start networking\.service|Failed to start .*Raise network interfaces/);
  expect(probe(log).addrs).toContain(`${nic} ${ip}/24`);
}

describe.skipIf(reason !== null)('installed boot: the installed Debian boots (QEMU, TCG)', () => {
  let dir: string | undefined;
  let pkg: PackageResult;
  let server: ImageServerInfo;
  let image: PublishResult;
  let rsyncd: { port: number; stop(): Promise<void> } | undefined;
  let lab: Lab | undefined;
  let vns = '';
  let sw: VlanSwitch;
  const identity: Record<string, { machineId?: string; ed25519?: string; disk: string }> = {};
  const times: string[] = [];

  beforeAll(async () => {
    ({ dir, pkg } = await buildTestPackage('console=ttyS0 panic=-1', false));
    server = await makeImageServer(join(dir, 'server'));
    image = await publishDebianImage(server, Object.values(H));
    rsyncd = await startRsyncd(server.dir);
    lab = createLab('installed-vlan');
    vns = lab.ns('ivlan');
    const guests = Object.values(TRUNKS).flat();
    sw = await startVlanSwitch(lab, vns, { vlan: VLAN, guests, server: { sw: 43010, socat: 42010 }, tap: 'sibv0', cidrs: [`${VSERVER}/24`, `${VSERVER6}/64`] });
    // A second rsync daemon on the same image tree, on the VLAN's server address: its own pid and log files.
    const conf = join(lab.dir, 'rsyncd.conf');
    const vlog = join(lab.dir, 'rsyncd.log');
    writeFileSync(conf, readFileSync(server.rsyncdConf, 'utf8').replace(/^pid file = .*$/m, `pid file = ${lab.dir}/rsyncd.pid`).replace(/^log file = .*$/m, `log file = ${vlog}`));
    lab.daemon(vns, 'rsyncd', ['rsync', '--daemon', '--no-detach', `--config=${conf}`, '--port=873', `--address=${VSERVER}`]);
    await waitFor(() => existsSync(vlog) && /rsyncd version .* starting/.test(readFileSync(vlog, 'utf8')), 10_000, `rsyncd in ${vns}: ${lab.log('rsyncd')}`);
  }, 1_500_000);
  afterAll(async () => {
    await rsyncd?.stop();
    await lab?.cleanup();
    if (times.length) console.log(`installed-boot times:\n  ${times.join('\n  ')}`);
    removeTestDir(dir);
  });

  /** A blank disk in the case's own directory (its serial logs go there too: cases run two at a time). */
  const blankDisk = (name: string) => {
    mkdirSync(join(dir!, name), { recursive: true });
    const p = join(dir!, name, 'disk.img');
    writeFileSync(p, '');
    truncateSync(p, DISK_MIB * 1024 * 1024);
    return p;
  };
  const efiVarsFor = (name: string) => {
    const p = join(dir!, name, 'OVMF_VARS.fd');
    copyFileSync(OVMF_VARS, p);
    return p;
  };

  /** The bond + VLAN hosts' NICs: their trunk ports on the switch, QEMU in its namespace. */
  const vlanNics = (key: keyof typeof H): Partial<QemuBoot> => ({ netns: vns, dgram: sw.dgram(TRUNKS[key]!) });

  /**
   * Boots the installer (the package's kernel and initrd) with the host's network and the action: its static address
   * on QEMU's user network, or (a host with trunk ports) in dracut's words VLAN 42 on an active-backup bond of eth0
   * and eth1 with MTU 9000, static IPv4 and IPv6 on the VLAN, the server there.
   */
  const install = async (host: TestHost, action: string, disk: string, extra: Partial<QemuBoot> & Pick<QemuBoot, 'until'>) => {
    const key = (Object.keys(H) as Array<keyof typeof H>).find((k) => H[k] === host)!;
    const v = `bond0.${VLAN}`;
    const names = IFNAMES[key];
    const slaves = names ? names.join(',') : 'eth0,eth1';
    const ifname = names ? names.map((n, i) => `ifname=${n}:${TRUNKS[key]![i]!.mac} `).join('') : '';
    const net: [string, Partial<QemuBoot>] = TRUNKS[key]
      ? [
          `IMAGESERVER=${VSERVER} ${ifname}bond=bond0:${slaves}:mode=active-backup,miimon=100:${BOND_MTU} vlan=${v}:bond0 ` +
            `ip=${host.ip}::${VSERVER}:${NETMASK}:${host.name}:${v}:none ip=[${V6[key]}]::[${VSERVER6}]:64:${host.name}:${v}:none`,
          vlanNics(key),
        ]
      : [`IMAGESERVER=${SERVER_IP} IP_ASSIGNMENT=static IPADDR=${host.ip} NETMASK=${NETMASK} GATEWAY=${GATEWAY}`, { forwards: [{ guestPort: 873, hostPort: rsyncd!.port }] }];
    return await bootQemu({
      workDir: dirname(disk),
      kernel: join(pkg.dir, 'kernel'),
      initrd: join(pkg.dir, 'initrd.img'),
      append: `console=ttyS0 panic=-1 ${net[0]} POST_ACTION=${action}`,
      disks: [disk],
      timeoutMs: INSTALL_TIMEOUT,
      ...net[1],
      ...extra,
    });
  };

  /** Boots the installed disk alone (no kernel given to QEMU: the firmware and GRUB on the disk). */
  const firstBoot = async (host: TestHost, disk: string, extra: Partial<QemuBoot> = {}) =>
    await bootQemu({
      workDir: dirname(disk),
      disks: [disk],
      bootOrder: 'c',
      until: new RegExp(`${host.name} login:|Kernel panic|grub rescue>|Boot failed|No bootable device|emergency mode`),
      marks: { kernel: /Linux version/ },
      timeoutMs: BOOT_TIMEOUT,
      ...extra,
    });

  // Two QEMUs at a time (the host has two cores; each TCG guest keeps one busy): BIOS with kexec, then UEFI with
  // directboot and the bad image. SI_BOOT_SEQUENTIAL=1 runs one at a time (cleaner times, about 20 minutes in all).
  const group = process.env.SI_BOOT_SEQUENTIAL === '1' ? describe : describe.concurrent;

  group('BIOS reboot and kexec', () => {
    it('BIOS: installs over VLAN 42 on a bond with POST_ACTION=reboot, then the disk alone boots to "node101 login:" onto the same bond, VLAN and addresses', async () => {
      const host = H.bios;
      const disk = blankDisk('bios');
      // A blank first disk makes the target vdb in the installer; the agent must leave it as it was.
      const bystander = join(dir!, 'bios', 'bystander.img');
      writeFileSync(bystander, '');
      truncateSync(bystander, 64 * 1024 * 1024);
      const inst = await install(host, 'reboot', disk, { until: /si-agent shell #|Kernel panic/, disks: [bystander, disk] });
      keepLog('bios-install', inst);
      expect(inst.matched, failLog(inst)).toBe(false);
      expect(inst.exitCode, failLog(inst)).toBe(0);
      expect(inst.log, failLog(inst)).toMatch(/reboot: Restarting system/);
      expect(inst.log).toMatch(/boot mode BIOS \(no \/sys\/firmware\/efi\)/);
      expect(readFileSync(bystander).every((b) => b === 0), 'the disk the layout does not name is untouched').toBe(true);
      expect(inst.log).toMatch(new RegExp(`links: bond0\\.${VLAN} \\(VLAN ${VLAN} on bond0 \\(active-backup over lan0, lan1\\)\\)`));
      expect(inst.log).toMatch(/virtio_net \S+ lan0: renamed from eth0/);
      const onDisk = withLoop(disk, (loop) =>
        withMount(`${loop}p2`, dir!, (mnt) => ({
          interfaces: readFileSync(join(mnt, 'etc/network/interfaces'), 'utf8'),
          links: IFNAMES.bios!.map((n) => readFileSync(join(mnt, `etc/systemd/network/10-systemimager-${n}.link`), 'utf8')),
          hostname: readFileSync(join(mnt, 'etc/hostname'), 'utf8'),
          machineId: readFileSync(join(mnt, 'etc/machine-id'), 'utf8'),
          ed25519: readFileSync(join(mnt, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8').trim(),
          fstab: readFileSync(join(mnt, 'etc/fstab'), 'utf8'),
          grubCfg: readFileSync(join(mnt, 'boot/grub/grub.cfg'), 'utf8'),
          uuids: [1, 3].map((n) => sh('blkid', ['-o', 'value', '-s', 'UUID', `${loop}p${n}`]).trim()),
          // /var is partition 3 here.
          agentLog: withMount(`${loop}p3`, dir!, (v) => readFileSync(join(v, 'log/systemimager/si-agent-install.log'), 'utf8')),
        })),
      );
      if (process.env.SI_BOOT_LOGS) writeFileSync(join(process.env.SI_BOOT_LOGS, 'bios-agent.log'), onDisk.agentLog);
      const slaves = expectBondStanzas(onDisk.interfaces, host.ip, V6.bios!, /lan\d/);
      expect(slaves).toEqual(IFNAMES.bios);
      // The names by MAC: systemd .link files, read by the installed system's udev.
      for (const [i, text] of onDisk.links.entries()) {
        expect(text).toMatch(new RegExp(`^MACAddress=${TRUNKS.bios![i]!.mac}$`, 'm'));
        expect(text).toMatch(new RegExp(`^Name=${IFNAMES.bios![i]}$`, 'm'));
      }
      expect(onDisk.hostname).toBe(`${host.name}\n`);
      expect(onDisk.machineId, 'machine-id emptied: systemd makes one at first boot').toBe('');
      expect(onDisk.fstab).toMatch(/^LABEL=root\s+\/\s+ext4/m);
      // Installed as vdb, booting as vda: what the layout names by device is named by UUID, the layout's name a comment.
      const [swapUuid, varUuid] = onDisk.uuids;
      expect(onDisk.fstab).toMatch(new RegExp(`^# /dev/vdb3\\nUUID=${varUuid}\\t/var\\text4\\t`, 'm'));
      expect(onDisk.fstab).toMatch(new RegExp(`^# /dev/vdb1\\nUUID=${swapUuid}\\tnone\\tswap\\t`, 'm'));
      expect(onDisk.fstab, 'no entry names a device').not.toMatch(/^\/dev\//m);
      expect(onDisk.grubCfg).toMatch(/linux\s+\/boot\/vmlinuz-\S+ root=UUID=\S+ ro console=ttyS0/);
      expect(onDisk.grubCfg).not.toMatch(/root=\/dev\/|vdb/);
      identity.bios = { ed25519: onDisk.ed25519, disk };

      const ports = () => TRUNKS.bios!.reduce((n, t) => n + (sw.counters().ports[t.id]?.tagged ?? 0), 0);
      const taggedBefore = ports();
      const boot = await firstBoot(host, disk, vlanNics('bios'));
      keepLog('bios-boot', boot);
      expect(boot.log, failLog(boot)).toMatch(new RegExp(`${host.name} login:`));
      expect(boot.matched).toBe(true);
      expect(boot.log).toMatch(new RegExp(`Linux version ${esc(image.kernelVersion)}`));
      // Booted as vda: /var and the swap come up through their UUIDs (a /dev/vdb3 entry would end in emergency mode).
      const plain = boot.log.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
      expect(plain).toMatch(/\[\s*OK\s*\] Mounted var\.mount - \/var\./);
      expect(plain).toMatch(/EXT4-fs \(vda3\): mounted filesystem/);
      expect(plain).toMatch(/Adding \d+k swap on \/dev\/vda1\./);
      expect(plain).not.toMatch(/emergency mode|Dependency failed|Timed out waiting for device/);
      expect(expectStackUp(boot.log, host.ip, V6.bios!, /lan\d/), 'the slaves its udev named are the ones on the disk').toEqual(slaves);
      expect(ports(), 'the installed system sent frames tagged 42 through the switch').toBeGreaterThan(taggedBefore);
      const p = probe(boot.log);
      expect(p.hostname).toBe(host.name);
      identity.bios.machineId = p.machineId;
      const line = `BIOS: power-on to installer power-off (install) ${inst.seconds.toFixed(0)} s; second boot to login: (first boot) ${boot.seconds.toFixed(0)} s ` +
        `(kernel after ${boot.marks.kernel?.toFixed(0) ?? '?'} s); power-on to installed login prompt ${(inst.seconds + boot.seconds).toFixed(0)} s`;
      times.push(line);
      console.log(line);
    }, INSTALL_TIMEOUT + BOOT_TIMEOUT);

    it('kexec: the installer kexecs into the installed kernel in the same QEMU, which reaches "node103 login:"', async () => {
      const host = H.kexec;
      const disk = blankDisk('kexec');
      const installed = new RegExp(`Linux version ${esc(image.kernelVersion)}`);
      const r = await install(host, 'kexec', disk, {
        until: new RegExp(`${host.name} login:|si-agent shell #|Kernel panic`),
        marks: { kexec: /kexec: \S+vmlinuz/, newKernel: installed },
        timeoutMs: INSTALL_TIMEOUT + BOOT_TIMEOUT,
      });
      keepLog('kexec', r);
      expect(r.log, failLog(r)).toMatch(new RegExp(`${host.name} login:`));
      expect(r.exitCode, 'QEMU still running: no power-off, no firmware reboot').toBeNull();
      expect(r.log).not.toMatch(/reboot: (Restarting system|Power down)/);
      const kexecAt = r.log.search(/kexec: \S+vmlinuz-\S+ \+ \S+initrd\.img-\S+ "[^"]*console=ttyS0/);
      expect(kexecAt, 'the agent loads the installed kernel, initrd and command line').toBeGreaterThan(0);
      const newKernelAt = r.log.search(installed);
      expect(newKernelAt, 'the installed kernel boots after the agent kexecs').toBeGreaterThan(kexecAt);
      expect(r.log.match(/Linux version /g)?.length, 'two kernels (installer, installed), one firmware boot').toBe(2);
      const nic = agentNicName(r.log);
      expectNetworkUp(r.log.slice(newKernelAt), nic, host.ip);
      const p = probe(r.log);
      expect(p.hostname).toBe(host.name);
      identity.kexec = { machineId: p.machineId, disk };
      const line = `kexec: power-on to kexec ${r.marks.kexec?.toFixed(0) ?? '?'} s, installed kernel at ${r.marks.newKernel?.toFixed(0) ?? '?'} s, login: at ${r.seconds.toFixed(0)} s`;
      times.push(line);
      console.log(line);
    }, INSTALL_TIMEOUT + BOOT_TIMEOUT);
  });

  it('two installs of the same image have different machine-ids and SSH host keys, neither the golden one', () => {
    expect(identity.bios?.machineId, 'the BIOS case booted and printed its machine-id').toMatch(/^[0-9a-f]{32}$/);
    expect(identity.kexec?.machineId, 'the kexec case booted and printed its machine-id').toMatch(/^[0-9a-f]{32}$/);
    expect(identity.bios!.machineId).not.toBe(identity.kexec!.machineId);
    for (const id of [identity.bios!.machineId, identity.kexec!.machineId]) expect(id).not.toBe(image.goldenMachineId);
    identity.kexec!.ed25519 = withLoop(identity.kexec!.disk, (loop) =>
      withMount(`${loop}p2`, dir!, (mnt) => {
        expect(readFileSync(join(mnt, 'etc/hostname'), 'utf8')).toBe(`${H.kexec.name}\n`);
        return readFileSync(join(mnt, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8').trim();
      }),
    );
    const keys = [identity.bios!.ed25519 ?? '', identity.kexec.ed25519];
    for (const k of keys) expect(k).toMatch(/^ssh-ed25519 \S+/);
    const blob = (k: string) => k.split(' ')[1];
    expect(blob(keys[0]!)).not.toBe(blob(keys[1]!));
    for (const k of keys) expect(blob(k)).not.toBe(blob(image.goldenEd25519));
  });

  group('UEFI, directboot and an image without a kernel', () => {
    it('an image without a kernel ends in the shellout naming what is missing, before the post-install action; the disk mounts', async () => {
      const host = H.nokernel;
      const disk = blankDisk('nokernel');
      const r = await install(host, 'reboot', disk, { until: /si-agent shell #|Kernel panic|reboot: / });
      keepLog('nokernel', r);
      expect(r.log, failLog(r)).toMatch(/si-agent shell #/);
      expect(r.log).toMatch(/the image has no kernel \(no \/boot\/vmlinuz-\*\): it cannot boot/);
      expect(r.log).not.toMatch(/reboot: |Kernel panic/);
      expect(r.exitCode, 'QEMU still running: the post-install action (reboot) was not performed').toBeNull();
      // In the initrd the target stays mounted for the operator (the failure report says so); the disk must still mount
      // elsewhere, with what the install wrote (the agent syncs before the shell: QEMU is killed at the prompt here).
      expect(r.log).toMatch(/mounted: \/dev\/vda2 on \/sysroot/);
      withLoop(
        disk,
        (loop) =>
          withMount(
            `${loop}p2`,
            dir!,
            (mnt) => {
              expect(readFileSync(join(mnt, 'etc/systemimager/IMAGE_LAST_SYNCED_TO'), 'utf8')).toBe(`${NOKERNEL_IMAGE}\n`);
              expect(readFileSync(join(mnt, 'etc/fstab'), 'utf8')).toMatch(/^LABEL=root\s+\/\s+ext4/m);
              // The boot loader is planned before anything is configured: the image is as laid down.
              expect(readFileSync(join(mnt, 'etc/hostname'), 'utf8')).toBe('golden-client\n');
            },
            true,
          ),
        true,
      );
    }, INSTALL_TIMEOUT);

    it.skipIf(uefiReason !== null)('UEFI: installs under OVMF (gpt + ESP, removable BOOTX64.EFI), then the disk boots under OVMF to "node102 login:"', async () => {
      const host = H.uefi;
      // Debian's kernel mounts FAT with iocharset=ascii unless told otherwise: without nls_ascii the ESP does not mount.
      expect(pkg.initrd.modules.some((m) => /\/nls_ascii\.ko/.test(m)), 'the initrd carries nls_ascii (initrd-build/module-list.ts)').toBe(true);
      const disk = blankDisk('uefi');
      const vars = efiVarsFor('uefi');
      const inst = await install(host, 'reboot', disk, { until: /si-agent shell #|Kernel panic/, efi: true, efiVars: vars });
      keepLog('uefi-install', inst);
      expect(inst.matched, failLog(inst)).toBe(false);
      expect(inst.exitCode, failLog(inst)).toBe(0);
      expect(inst.log).toMatch(/boot mode UEFI \(\/sys\/firmware\/efi exists\)/);
      const nic = agentNicName(inst.log);
      withLoop(disk, (loop) => {
        expect(sh('blkid', ['-o', 'value', '-s', 'TYPE', `${loop}p1`]).trim()).toBe('vfat');
        expect(sh('mdir', ['-i', `${loop}p1`, '-b', '::/EFI/BOOT'])).toMatch(/BOOTX64\.EFI/i);
        withMount(`${loop}p2`, dir!, (mnt) => {
          expect(readFileSync(join(mnt, 'etc/fstab'), 'utf8')).toMatch(/\s\/boot\/efi\s+vfat\s/);
          expectStaticStanza(readFileSync(join(mnt, 'etc/network/interfaces'), 'utf8'), nic, host.ip);
        });
      });
      const boot = await firstBoot(host, disk, { efi: true, efiVars: vars });
      keepLog('uefi-boot', boot);
      expect(boot.log, failLog(boot)).toMatch(new RegExp(`${host.name} login:`));
      expect(boot.log).toMatch(new RegExp(`Linux version ${esc(image.kernelVersion)}`));
      expect(boot.log).toMatch(/efi: EFI v/);
      expectNetworkUp(boot.log, nic, host.ip);
      const line = `UEFI: install ${inst.seconds.toFixed(0)} s; first boot to login: ${boot.seconds.toFixed(0)} s`;
      times.push(line);
      console.log(line);
    }, INSTALL_TIMEOUT + BOOT_TIMEOUT);

    it('directboot: PID 1 switch_roots into the installed system in the same QEMU, which reaches "node104 login:" and makes the bond and VLAN again', async () => {
      const host = H.directboot;
      const disk = blankDisk('directboot');
      const r = await install(host, 'directboot', disk, {
        until: new RegExp(`${host.name} login:|si-agent shell #|Kernel panic`),
        marks: { switchRoot: /directboot: switch_root/ },
        timeoutMs: INSTALL_TIMEOUT + BOOT_TIMEOUT,
      });
      keepLog('directboot', r);
      expect(r.log, failLog(r)).toMatch(new RegExp(`${host.name} login:`));
      expect(r.exitCode, 'QEMU still running: no power-off, no reboot').toBeNull();
      expect(r.log).not.toMatch(/reboot: (Restarting system|Power down)/);
      expect(r.log.match(/Linux version /g)?.length, 'one kernel: no kexec, no firmware reboot').toBe(1);
      const switchAt = r.log.search(/directboot: switch_root/);
      expect(switchAt).toBeGreaterThan(0);
      const welcomeAt = r.log.search(/Welcome to .*Debian GNU\/Linux 12/);
      expect(welcomeAt, 'the installed systemd starts after the switch_root').toBeGreaterThan(switchAt);
      // The installed system enslaves the renamed NICs to a bond of its own making after the switch_root.
      const slaves = expectStackUp(r.log.slice(switchAt), host.ip, V6.directboot!);
      expect(r.log.slice(switchAt)).toMatch(new RegExp(`bond0: \\(slave ${esc(slaves[0]!)}\\): Enslaving`));
      expect(probe(r.log).hostname).toBe(host.name);
      const line = `directboot: switch_root at ${r.marks.switchRoot?.toFixed(0) ?? '?'} s, login: at ${r.seconds.toFixed(0)} s`;
      times.push(line);
      console.log(line);
    }, INSTALL_TIMEOUT + BOOT_TIMEOUT);
  });
});
