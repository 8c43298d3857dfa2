// The pure parts of `si-agent stage`: local.cfg from live settings, the cpio archive, GRUB texts, grubenv, boot loader choice, options.

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseLocalCfg } from '../../../agent/params/local-cfg.js';
import { planBootEntry } from '../../../agent/stage/boot-entry-plan.js';
import { parseRsyncListing } from '../../../agent/stage/boot-files.js';
import { grubQuote, honoursNextEntry, insertGrubCfgBlock, parseGrubenv, removeGrubCfgBlock, renderGrubCfgBlock, renderGrubDScript, renderGrubenv } from '../../../agent/stage/grub-entry-text.js';
import { parseLiveSettings } from '../../../agent/stage/live-settings.js';
import { renderLocalCfg } from '../../../agent/stage/local-cfg-text.js';
import { alignmentPadding, makeNewcArchive } from '../../../agent/stage/newc-cpio.js';
import { splitAppend, stageOptions } from '../../../agent/stage/stage-options.js';
import { mountOf } from '../../../agent/stage/target-tools.js';
import { memoryTargetView } from '../../../agent/target/target-view.js';

describe('local.cfg from live settings', () => {
  const addr = JSON.stringify([{ ifname: 'ens3', address: '52:54:00:12:34:56', addr_info: [{ family: 'inet', local: '10.0.2.61', prefixlen: 24, scope: 'global' }] }]);
  const route = JSON.stringify([{ dst: 'default', gateway: '10.0.2.2', dev: 'ens3' }]);
  it('static settings, DEVICE by MAC, DNS, and values the agent reads back without problems', () => {
    const s = parseLiveSettings('ens3', addr, route, 'search lab.example\nnameserver 10.0.2.3\nnameserver 127.0.0.53\n', 'node111');
    const text = renderLocalCfg(s, '10.0.2.100', 'then');
    const parsed = parseLocalCfg(text, 'x');
    expect(parsed.problems).toEqual([]);
    expect(Object.fromEntries(parsed.assignments.map((a) => [a.name, a.value]))).toEqual({
      HOSTNAME: 'node111', DOMAINNAME: 'lab.example', DEVICE: '52:54:00:12:34:56', IP_ASSIGNMENT: 'static', IPADDR: '10.0.2.61',
      NETMASK: '255.255.255.0', NETWORK: '10.0.2.0', BROADCAST: '10.0.2.255', GATEWAY: '10.0.2.2', DNS_SERVERS: '10.0.2.3', IMAGESERVER: '10.0.2.100',
    });
  });
  it('a leased address keeps DHCP for the installed system; an FQDN host name gives the domain', () => {
    const dyn = JSON.stringify([{ ifname: 'eth0', address: 'aa:bb:cc:dd:ee:ff', addr_info: [{ family: 'inet', local: '192.168.7.9', prefixlen: 20, dynamic: true }] }]);
    const text = renderLocalCfg(parseLiveSettings('eth0', dyn, '[]', '', 'web1.example.org'), 'srv', 'then');
    expect(text).toMatch(/^IP_ASSIGNMENT=dhcp$/m);
    expect(text).toMatch(/^NETMASK=255\.255\.240\.0$/m);
    expect(text).toMatch(/^DOMAINNAME=example\.org$/m);
    expect(text).not.toMatch(/GATEWAY/);
  });
});

describe('newc archive', () => {
  it('cpio reads it back; padding aligns to 4', () => {
    const a = makeNewcArchive([{ path: 'local.cfg', data: Buffer.from('HOSTNAME=x\n') }]);
    expect(a.length % 512).toBe(0);
    expect(execFileSync('cpio', ['-i', '--quiet', '--to-stdout', 'local.cfg'], { input: a, encoding: 'utf8' })).toBe('HOSTNAME=x\n');
    expect(alignmentPadding(13).length).toBe(3);
    expect(alignmentPadding(16).length).toBe(0);
    expect(() => makeNewcArchive([{ path: '../x', data: Buffer.alloc(0) }])).toThrow(/bad path/);
  });
});

describe('GRUB texts', () => {
  it('quotes words GRUB would split, and refuses control characters', () => {
    expect(grubQuote('console=ttyS0')).toBe('console=ttyS0');
    expect(grubQuote('A="b c"')).toBe(`'A="b c"'`);
    expect(grubQuote("it's")).toBe(`'it'\\''s'`);
    expect(() => renderGrubDScript('/k', '/i', ['a\nb'])).toThrow(/control characters/);
  });
  it('the grub.d script holds the command line as one single-quoted string', () => {
    const s = renderGrubDScript('/boot/kernel.systemimager', '/boot/initrd.img.systemimager', ['LAST_ROOT=UUID=ab-cd', "X='$(reboot)'"]);
    expect(s).toContain(`si_args='LAST_ROOT=UUID=ab-cd '\\''X='\\''\\'\\'''\\''$(reboot)'\\''\\'\\'''\\'''\\'''`);
    expect(s).toContain("--id systemimager-autoinstall");
    // What sh makes of it is the GRUB-quoted command line, nothing run.
    const line = s.split('\n').find((l) => l.startsWith('si_args='))!;
    expect(execFileSync('sh', ['-c', `${line}\nprintf '%s' "$si_args"`], { encoding: 'utf8' })).toBe(`LAST_ROOT=UUID=ab-cd 'X='\\''$(reboot)'\\'''`);
  });
  it('a direct grub.cfg block goes before the first entry and comes out again exactly', () => {
    const cfg = 'set default=0\nmenuentry "Linux" {\n}\n';
    const block = renderGrubCfgBlock('/boot/kernel.systemimager', '/boot/initrd.img.systemimager', '1234-ABCD', ['SKIP_LOCAL_CFG=y']);
    const out = insertGrubCfgBlock(cfg, block);
    expect(out.indexOf('systemimager-autoinstall')).toBeLessThan(out.indexOf('menuentry "Linux"'));
    expect(out).toContain('search --no-floppy --fs-uuid --set=root 1234-ABCD');
    expect(removeGrubCfgBlock(out)).toBe(cfg);
    expect(honoursNextEntry(cfg)).toBe(false);
    expect(honoursNextEntry('if [ "${next_entry}" ] ; then\n set default="${next_entry}"\n save_env next_entry\nfi')).toBe(true);
  });
  it('grubenv is a 1024-byte block that reads back', () => {
    const env = renderGrubenv({ saved_entry: '0', next_entry: 'systemimager-autoinstall' });
    expect(env.length).toBe(1024);
    expect(parseGrubenv(env.toString('latin1'))).toEqual({ saved_entry: '0', next_entry: 'systemimager-autoinstall' });
  });
});

describe('boot loader choice', () => {
  it('GRUB with update-grub and grub-reboot; grub.cfg alone; systemd-boot; none is a clear error', () => {
    const debian = memoryTargetView({ '/boot/grub/grub.cfg': '', '/etc/grub.d/00_header': '', '/usr/sbin/update-grub': '', '/usr/sbin/grub-reboot': '', '/usr/bin/grub-editenv': '' });
    expect(planBootEntry(debian)).toEqual({ kind: 'grub', grubDir: '/boot/grub', grubCfg: '/boot/grub/grub.cfg', generator: ['/usr/sbin/update-grub'], rebootTool: '/usr/sbin/grub-reboot', editenv: '/usr/bin/grub-editenv' });
    const rhel = memoryTargetView({ '/boot/grub2/grub.cfg': '', '/etc/grub.d/00_header': '', '/usr/sbin/grub2-mkconfig': '', '/usr/sbin/grub2-reboot': '' });
    expect(planBootEntry(rhel)).toMatchObject({ generator: ['/usr/sbin/grub2-mkconfig', '-o', '/boot/grub2/grub.cfg'], rebootTool: '/usr/sbin/grub2-reboot' });
    expect(planBootEntry(memoryTargetView({ '/boot/grub/grub.cfg': '' }))).toEqual({ kind: 'grub', grubDir: '/boot/grub', grubCfg: '/boot/grub/grub.cfg' });
    expect(planBootEntry(memoryTargetView({ '/boot/efi/loader/loader.conf': '', '/usr/bin/bootctl': '' }))).toEqual({ kind: 'systemd-boot', espDir: '/boot/efi', bootctl: '/usr/bin/bootctl' });
    expect(() => planBootEntry(memoryTargetView({ '/boot/vmlinuz': '' }))).toThrow(/no boot loader to stage into/);
  });
});

describe('options and helpers', () => {
  it('--append keeps quoted words whole; bad combinations are usage errors', () => {
    expect(splitAppend('console=ttyS0 A="b c"  X=1')).toEqual(['console=ttyS0', 'A="b c"', 'X=1']);
    expect(() => splitAppend('A="b')).toThrow(/unterminated quote/);
    expect(() => stageOptions({ kexec: false, yes: true, undo: false })).toThrow(/needs --server/);
    expect(() => stageOptions({ server: 's', kexec: true, root: '/mnt', yes: true, undo: false })).toThrow(/cannot go with --root/);
    expect(stageOptions({ server: 's', kexec: false, yes: false, undo: false })).toMatchObject({ flavor: 'standard', arch: 'x86_64', root: '/', port: 873 });
  });
  it('reads an rsync daemon listing and finds the mount holding a path', () => {
    const listing = 'drwxr-xr-x          4,096 2020/09/13 12:26:40 .\ndrwxr-xr-x          4,096 2020/09/13 12:26:40 standard\n-rw-r--r--             19 2020/09/13 12:26:40 kernel\n';
    expect(parseRsyncListing(listing)).toEqual([{ name: 'standard', dir: true }, { name: 'kernel', dir: false }]);
    const mounts = '/dev/vda / ext4 rw 0 0\n/dev/loop3p1 /tmp/x\\040y ext4 rw 0 0\n/dev/loop3p2 /tmp/x\\040y/boot ext2 rw 0 0\n';
    expect(mountOf('/tmp/x y/boot/grub', mounts)).toEqual({ device: '/dev/loop3p2', mp: '/tmp/x y/boot', fs: 'ext2' });
    expect(mountOf('/tmp/x y/etc', mounts)?.device).toBe('/dev/loop3p1');
    expect(mountOf('/etc', mounts)?.device).toBe('/dev/vda');
  });
});
