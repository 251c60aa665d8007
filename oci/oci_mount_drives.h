/* Bind mounts' host side: copies of the host files and directories on
 * extra drives of the container's VM, built at create in the container's
 * directory (docs/oci.md, "Bind mounts"). The guest side mounts them
 * (oci_mount_apply.h). */
#ifndef OCI_MOUNT_DRIVES_H
#define OCI_MOUNT_DRIVES_H

#include "oci_mounts.h"

/* Builds the drive images for m's bind mounts in the directory dirfd
 * (dir_path names it): every bound file is copied into one image
 * ("binds-files.ext4", the files named by their mount's index), every
 * bound directory gets its own ("bind-<i>.ext4", mkfs.ext4 -d of it).
 * Sets each bind's drive and subpath and m's drive_files. The sources are
 * opened without following a symlink and must still be what
 * oci_mounts_check saw. On failure what it made is removed. */
int oci_mount_drives_build(oci_mounts *m, int dirfd, const char *dir_path);

#endif
