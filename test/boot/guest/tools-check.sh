#!/bin/sh
# Throwaway /init for test/boot/boot-tools.test.ts: runs each initrd tool once, prints SMOKE:<name>:ok|FAILED, powers off.
# It runs inside the QEMU guest: /dev/vda there is the blank disk image the test created, never a host disk.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /run /tmp
check() {
  name=$1; shift
  if "$@" >/tmp/out 2>&1; then echo "SMOKE:$name:ok"; else echo "SMOKE:$name:FAILED"; tail -n 5 /tmp/out; fi
}
for m in virtio_pci virtio_blk virtio_net ext4 xfs btrfs vfat isofs raid1 raid456 dm_mod dm_snapshot loop nvme ahci; do
  check "modprobe-$m" modprobe "$m"
done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 40 ]; do sleep 0.25; i=$((i+1)); done
check parted parted -s /dev/vda mklabel gpt mkpart p1 ext4 1MiB 50% mkpart p2 50% 100%
check partprobe partprobe /dev/vda
i=0; while [ ! -b /dev/vda2 ] && [ $i -lt 40 ]; do sleep 0.25; i=$((i+1)); done
check mkfs-ext4 mkfs.ext4 -q -F -L root /dev/vda1
check tune2fs tune2fs -l /dev/vda1
check mount-ext4 mount /dev/vda1 /sysroot
check umount umount /sysroot
check mkfs-xfs mkfs.xfs -f -q /dev/vda2
check mkfs-btrfs mkfs.btrfs -f -q /dev/vda2
check blkid blkid /dev/vda1
check lsblk lsblk
check wipefs wipefs -a /dev/vda2
check dd dd if=/dev/zero of=/tmp/fat.img bs=1M count=40
check losetup losetup -f /tmp/fat.img
check mkfs-vfat mkfs.vfat /dev/loop0
check mkswap mkswap /dev/vda2
check lvm lvm version
check pvcreate pvcreate -ff -y /dev/vda2
check vgcreate vgcreate vg0 /dev/vda2
check lvcreate lvcreate -y -L 16M -n lv0 vg0
check lv-node test -b /dev/vg0/lv0
check vgchange vgchange -an vg0
check mdadm mdadm --version
check rsync rsync --version
check kexec kexec --version
check udp-receiver sh -c 'udp-receiver --help >/dev/null 2>&1; [ $? -ne 127 ]'
check ssh ssh -V
check tini tini --version
check switch_root sh -c 'command -v switch_root'
check agent /init version
check ip ip link set eth0 up
check dhcp udhcpc -i eth0 -n -q -t 5 -s /bin/true
echo SMOKE-DONE
poweroff -f
