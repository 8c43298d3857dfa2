// Disk layouts for the reliability tests: the same two disks laid out three different ways, one after the other.

/** A: gpt on both disks, RAID1 over their second partitions, LVM on the array (root LV), a swap on each disk. */
export const LAYOUT_A_RAID_LVM = `<?xml version="1.0"?>
<config>
  <disk dev="/dev/sda" label_type="gpt" unit_of_measurement="MB">
    <part num="1" size="64" p_type="primary" p_name="swap-a" />
    <part num="2" size="*" p_type="primary" p_name="raid-a" flags="raid" />
  </disk>
  <disk dev="/dev/sdb" label_type="gpt" unit_of_measurement="MB">
    <part num="1" size="64" p_type="primary" p_name="swap-b" />
    <part num="2" size="*" p_type="primary" p_name="raid-b" flags="raid" />
  </disk>
  <raid name="/dev/md0" raid_level="raid1" raid_devices="2" spare_devices="0" lvm_group="vg_rl" devices="/dev/sda2 /dev/sdb2" />
  <lvm version="2">
    <lvm_group name="vg_rl" max_log_vols="0" max_phys_vols="0" phys_extent_size="4096K">
      <lv name="root" size="*" lv_options="" />
    </lvm_group>
  </lvm>
  <fsinfo line="10" real_dev="/dev/vg_rl/root" mount_dev="LABEL=root" mp="/" fs="ext4" options="defaults" dump="0" pass="1" />
  <fsinfo line="20" real_dev="/dev/sda1" mp="swap" fs="swap" options="pri=1" dump="0" pass="0" />
  <fsinfo line="30" real_dev="/dev/sdb1" mp="swap" fs="swap" options="pri=1" dump="0" pass="0" />
</config>
`;

/** B: msdos on both; disk 0 has /boot and an LVM PV (root LV), disk 1 one ext4 partition for /srv. */
export const LAYOUT_B_LVM_PLAIN = `<?xml version="1.0"?>
<config>
  <disk dev="/dev/sda" label_type="msdos" unit_of_measurement="MB">
    <part num="1" size="100" p_type="primary" flags="boot" />
    <part num="2" size="*" p_type="primary" flags="lvm" lvm_group="vg_rl" />
  </disk>
  <disk dev="/dev/sdb" label_type="msdos" unit_of_measurement="MB">
    <part num="1" size="*" p_type="primary" />
  </disk>
  <lvm version="2">
    <lvm_group name="vg_rl" max_log_vols="0" max_phys_vols="0" phys_extent_size="4096K">
      <lv name="root" size="*" lv_options="" />
    </lvm_group>
  </lvm>
  <fsinfo line="10" real_dev="/dev/vg_rl/root" mount_dev="LABEL=root" mp="/" fs="ext4" options="defaults" dump="0" pass="1" />
  <fsinfo line="20" real_dev="/dev/sda1" mount_dev="LABEL=boot" mp="/boot" fs="ext4" options="defaults" dump="0" pass="2" />
  <fsinfo line="30" real_dev="/dev/sdb1" mp="/srv" fs="ext4" options="defaults" dump="0" pass="2" />
</config>
`;

/** C: no RAID, no LVM: gpt on disk 0 (ext4 root, swap), msdos on disk 1 (xfs /srv). */
export const LAYOUT_C_PLAIN = `<?xml version="1.0"?>
<config>
  <disk dev="/dev/sda" label_type="gpt" unit_of_measurement="MB">
    <part num="1" size="560" p_type="primary" p_name="root" />
    <part num="2" size="*" p_type="primary" p_name="swap" />
  </disk>
  <disk dev="/dev/sdb" label_type="msdos" unit_of_measurement="MB">
    <part num="1" size="*" p_type="primary" />
  </disk>
  <fsinfo line="10" real_dev="/dev/sda1" mount_dev="LABEL=root" mp="/" fs="ext4" options="defaults" dump="0" pass="1" />
  <fsinfo line="20" real_dev="/dev/sda2" mp="swap" fs="swap" options="defaults" dump="0" pass="0" />
  <fsinfo line="30" real_dev="/dev/sdb1" mp="/srv" fs="xfs" options="defaults" dump="0" pass="2" />
</config>
`;
