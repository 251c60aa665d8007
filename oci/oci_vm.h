/* The container's VM: booted from the base image's kernel and initrd (the
 * minimal image by default) with the container's ext4 as its root disk and
 * the guest agent running commands chrooted into it. Its one network
 * interface, when config.json names a network namespace, is oci_net.h's;
 * without one it has none.
 * Its smartvm runtime dir is <container dir>/vm, so everything of it lives
 * in the container's directory. */
#ifndef OCI_VM_H
#define OCI_VM_H

#include "oci_bundle.h"
#include "oci_globals.h"
#include "oci_state.h"

#include <smartvm/smartvm.h>

/* How long the guest agent may take to answer after boot (TCG is slow). */
#define OCI_AGENT_TIMEOUT_MS 180000

/* Boots the VM for the container whose rootfs.ext4 is in d and waits for its
 * agent. *mgr_out owns *vm_out; sv_manager_free stops it. On failure
 * nothing is left running. */
int oci_vm_boot(sv_manager **mgr_out, sv_vm **vm_out, const oci_bundle *b, const oci_dir *d,
		const oci_globals *g, const char *id);

/* Attaches to the VM of the container in d that its container process
 * booted (for exec, pause, resume). sv_manager_free(*mgr_out) leaves it
 * running. */
int oci_vm_attach(sv_manager **mgr_out, sv_vm **vm_out, const oci_dir *d, const oci_globals *g);

/* Kills the container's VM if one still runs (its owner died) and cleans up
 * what it left, so that the directory can go. */
int oci_vm_teardown(const oci_dir *d, const oci_globals *g);

#endif
