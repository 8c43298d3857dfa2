// The kernel modules the standard-flavor initrd carries: disks, NICs, filesystems, RAID, LVM.

import type { ModuleRequest } from './modules.ts';

const req = (names: string): ModuleRequest[] => names.split(/\s+/).filter(Boolean).map((name) => ({ name }));
const opt = (names: string): ModuleRequest[] => names.split(/\s+/).filter(Boolean).map((name) => ({ name, optional: true }));

/** Module groups by purpose; the agent loads what matches the hardware (modules.alias). */
export const MODULE_GROUPS: Record<string, ModuleRequest[]> = {
  virtio: req('virtio_pci virtio_blk virtio_net virtio_scsi').concat(opt('virtio_balloon virtio_console virtio_rng')),
  sata: req('ahci libata ata_piix ata_generic').concat(opt('sata_nv sata_sil sata_sil24 sata_via sata_sis sata_promise pata_acpi')),
  nvme: req('nvme'),
  scsi: req('sd_mod sr_mod sg').concat(opt('mptsas mpt3sas megaraid_sas hpsa smartpqi aacraid vmw_pvscsi')),
  usb: opt('xhci_pci xhci_hcd ehci_pci ehci_hcd ohci_pci uhci_hcd usb_storage uas'),
  nic: req('virtio_net e1000 e1000e igb ixgbe bnx2x mlx5_core').concat(
    opt('igc i40e ice ixgbevf tg3 bnx2 bnxt_en r8169 vmxnet3 be2net mlx4_en qede'),
  ),
  fs: req('ext4 xfs btrfs vfat isofs nls_cp437 nls_ascii nls_iso8859_1 nls_utf8').concat(opt('msdos squashfs overlay efivarfs')),
  crypto: opt('crc32c_generic crc32c_intel crc32_pclmul libcrc32c xxhash_generic sha256_generic blake2b_generic'),
  raid: req('md_mod raid0 raid1 raid456 raid10').concat(opt('linear multipath')),
  dm: req('dm_mod dm_snapshot dm_mirror').concat(opt('dm_thin_pool dm_raid dm_zero dm_crypt')),
  misc: req('loop af_packet').concat(opt('zram')),
  // Bonds and tagged VLANs of the install network (BOND_SLAVES, VLAN_ID, dracut's bond= and vlan=): loaded by link-stack.ts.
  netstack: req('bonding 8021q'),
};

/** Every module request of the standard flavor, in group order. */
export function standardModuleRequests(): ModuleRequest[] {
  return Object.values(MODULE_GROUPS).flat();
}
