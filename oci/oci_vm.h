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

/* The container's VMs, attached before its container process (their
 * owner) is killed: once it is, their supervisors clean up and remove their
 * directories at once, and only a VM attached before is seen to end when
 * its supervisor has exited, not when its directory went. */
typedef struct {
	sv_manager *mgr; /* NULL: nothing held */
	char **ids;	 /* the VMs attached */
} oci_vm_hold;

/* Attaches every VM of the container in d that can be; what cannot is left
 * to oci_vm_teardown, which reports it. */
void oci_vm_hold_all(oci_vm_hold *h, const oci_dir *d, const oci_globals *g);

/* Kills the container's VMs that still run (their owner died), held or
 * found now, waits for their supervisors to exit and cleans up what they
 * left, so that the directory can go. Releases h. */
int oci_vm_teardown(oci_vm_hold *h, const oci_dir *d, const oci_globals *g);

/* Lets go of the VMs held, leaving them as they are. */
void oci_vm_release(oci_vm_hold *h);

#endif
