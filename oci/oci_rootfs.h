/* The container's root filesystem as the VM's root disk: a sparse ext4 image
 * built from the bundle's rootfs directory with `mkfs.ext4 -d` (no mount, no
 * loop device: nothing on the host to undo but the file). */
#ifndef OCI_ROOTFS_H
#define OCI_ROOTFS_H

#include <stdint.h>

/* Space beyond the tree's own: the container's writes land in the image. */
#define OCI_ROOTFS_HEADROOM_MIB 256

/* Builds name in the directory dirfd (dir_path names it) from tree; the file
 * must not exist. Its size is the tree's allocated bytes plus a quarter plus
 * OCI_ROOTFS_HEADROOM_MIB; holes cost nothing. The directories the guest's
 * init mounts on (proc, sys, dev, tmp) are added when the tree lacks them.
 * On failure the file is removed. *size_mib (may be NULL) gets the size. */
int oci_rootfs_build(int dirfd, const char *dir_path, const char *name, const char *tree, uint64_t *size_mib);

/* The same for a tree that is not a root (a bind mount's): no mount points
 * added, no lost+found left that the tree lacks, headroom_mib to spare. */
int oci_ext4_build(int dirfd, const char *dir_path, const char *name, const char *tree, uint64_t headroom_mib);

#endif
