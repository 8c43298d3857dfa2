// Module resolution over modules.dep text: dependencies first, builtins and missing names reported.

import { describe, expect, it } from 'vitest';
import { moduleNameOf, parseProcModules, resolveModules } from '../../../initrd-build/modules.ts';

// Lines captured from Debian's 6.1.0-56-amd64 modules.dep (trimmed to what the cases need).
const DEP = `kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/net/core/failover.ko:
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/scsi/scsi_common.ko:
kernel/drivers/scsi/scsi_mod.ko: kernel/drivers/scsi/scsi_common.ko
kernel/drivers/ata/libata.ko: kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko
kernel/drivers/ata/libahci.ko: kernel/drivers/ata/libata.ko kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko
kernel/drivers/ata/ahci.ko: kernel/drivers/ata/libahci.ko kernel/drivers/ata/libata.ko kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko
kernel/drivers/md/md-mod.ko:
kernel/drivers/md/raid1.ko: kernel/drivers/md/md-mod.ko
kernel/fs/nls/nls_utf8.ko:
`;
const BUILTIN = 'kernel/net/packet/af_packet.ko\nkernel/fs/ext4/ext4.ko\n';

describe('resolveModules', () => {
  it('puts every dependency before the module that needs it', () => {
    const r = resolveModules(DEP, BUILTIN, ['virtio_net', 'ahci']);
    const pos = (f: string) => r.files.findIndex((x) => x.endsWith(f));
    for (const [dep, user] of [
      ['failover.ko', 'net_failover.ko'],
      ['net_failover.ko', 'virtio_net.ko'],
      ['virtio_ring.ko', 'virtio_net.ko'],
      ['scsi_common.ko', 'scsi_mod.ko'],
      ['scsi_mod.ko', 'libata.ko'],
      ['libata.ko', 'libahci.ko'],
      ['libahci.ko', '/ahci.ko'],
    ]) {
      expect(pos(dep), `${dep} before ${user}`).toBeGreaterThanOrEqual(0);
      expect(pos(dep)).toBeLessThan(pos(user));
    }
    expect(r.files).toHaveLength(10);
    expect(new Set(r.files).size).toBe(r.files.length);
  });

  it('matches names with dashes and underscores alike', () => {
    const r = resolveModules(DEP, BUILTIN, ['md_mod', 'raid1']);
    expect(r.files).toEqual(['kernel/drivers/md/md-mod.ko', 'kernel/drivers/md/raid1.ko']);
  });

  it('reports built-in, missing and absent optional names separately', () => {
    const r = resolveModules(DEP, BUILTIN, ['af_packet', 'ext4', 'nvme', { name: 'zram', optional: true }, 'nls_utf8']);
    expect(r.builtin).toEqual(['af_packet', 'ext4']);
    expect(r.missing).toEqual(['nvme']);
    expect(r.absentOptional).toEqual(['zram']);
    expect(r.files).toEqual(['kernel/fs/nls/nls_utf8.ko']);
  });

  it('returns nothing for an empty request', () => {
    expect(resolveModules(DEP, BUILTIN, []).files).toEqual([]);
  });
});

describe('module names', () => {
  it('canonicalises file names and /proc/modules lines', () => {
    expect(moduleNameOf('kernel/drivers/md/dm-mod.ko.xz')).toBe('dm_mod');
    expect(parseProcModules('virtio_net 77824 0 - Live 0x0\nnet_failover 24576 1 virtio_net, Live 0x0\n')).toEqual(['virtio_net', 'net_failover']);
  });
});
