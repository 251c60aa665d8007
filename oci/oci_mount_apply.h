/* config.json's mounts in the guest: each mounted by the agent (MOUNT)
 * inside the container's root before its process runs. */
#ifndef OCI_MOUNT_APPLY_H
#define OCI_MOUNT_APPLY_H

#include "oci_mounts.h"

#include <smartvm/smartvm.h>

/* True for a mount the VM already has where it asks for it: the guest's
 * init mounts proc on /proc, sysfs on /sys, devtmpfs on /dev (a tmpfs
 * /dev would hide the VM's devices) and devpts on /dev/pts. cgroup mounts
 * are skipped too (the VM is the container; its cgroups are its own). */
bool oci_mount_is_skipped(const oci_mount *m);

/* Mounts every other entry, in order; the first failure is returned,
 * naming it: `config.json: mounts[3] (tmpfs on /run): ...`. */
int oci_mounts_apply(sv_vm *vm, const oci_mounts *m);

#endif
