// Kernel command line words every boot of the installer carries (boot configs, staged reinstalls).

/**
 * `rootfstype=ramfs`: the initrd unpacks into ramfs instead of tmpfs. The kernel caps a tmpfs rootfs at half the RAM it
 * counts while it unpacks, so the 183 MiB the standard initrd unpacks to needed a 480 MB machine although far less is
 * in use; ramfs has no cap and the same package installs the fixture image at 320 MB (bench/boot-memory). Nothing is
 * written to the root filesystem itself: /tmp and /run are tmpfs mounts of their own with their limits
 * (init/early-mounts.ts). A site's own rootfstype= later on the line wins (the kernel keeps the last).
 */
export const INSTALLER_KERNEL_WORDS: readonly string[] = ['rootfstype=ramfs'];
