/* Which VMM runs a VM, and which binary: the `vmm` option. auto picks
 * Firecracker when a binary is given (firecracker_binary_path) or cached
 * (sv_firecracker_binary_cached), else QEMU, whose binary and accelerator
 * the QEMU backend resolves (its resolve op).
 * A restore runs on the backend its snapshot was taken on (auto allows
 * either; an explicit vmm option that differs is refused).
 * Never downloads anything: a missing binary is an error naming the option. */
#include "vm/vm_internal.h"

#include "util/error.h"
#include "util/file.h"
#include <smartvm/images.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const sv_vmm_ops *const backends[] = {
    &sv_vmm_firecracker_ops,
    &sv_vmm_qemu_ops,
};

const sv_vmm_ops *sv_vm__backend_by_name(const char *name)
{
	for (size_t i = 0; name && i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

/* The cached download of the configured version ("latest": the newest one
 * cached), or NULL. Never touches the network. */
static char *cached_firecracker(const sv_manager_options *o)
{
	char *path = NULL;
	if (sv_firecracker_binary_cached(&path, o->data_dir, o->firecracker_version, o->arch) != 0) {
		sv_err_clear();
		return NULL;
	}
	return path;
}

/* The Firecracker binary: the explicit path, else a cached download. */
static int find_firecracker(const sv_manager_options *o, char **out)
{
	*out = NULL;
	if (o->firecracker_binary_path) {
		if (!sv_path_exists(o->firecracker_binary_path))
			return sv_err(SV_ENOTFOUND, "firecracker_binary_path: %s: no such file",
				      o->firecracker_binary_path);
		/* The supervisor runs it from the VM directory. */
		*out = sv_path_absolute(o->firecracker_binary_path, NULL);
		return *out ? 0
			    : sv_err_errno(SV_EIO, errno, "firecracker_binary_path: %s",
					   o->firecracker_binary_path);
	}
	if ((*out = cached_firecracker(o)))
		return 0;
	return sv_err(SV_ENOTFOUND,
		      "no Firecracker binary: set firecracker_binary_path (--firecracker-bin) or run "
		      "`smartvm binary ensure`");
}

static int pick_qemu(sv_vm *vm, const sv_manager_options *o, char **binary_out, char **accel_out)
{
	int rc = sv_vmm_qemu_ops.resolve(o->qemu_binary, o->qemu_accel, binary_out, accel_out);
	if (!rc)
		vm->backend = &sv_vmm_qemu_ops;
	return rc;
}

int sv_vm__backend_allowed(const sv_manager_options *o, const sv_vmm_ops *b, const char *what)
{
	const sv_vmm_ops *only = o->vmm == SV_VMM_QEMU		? &sv_vmm_qemu_ops
				 : o->vmm == SV_VMM_FIRECRACKER ? &sv_vmm_firecracker_ops
								: NULL;
	if (!only || only == b)
		return 0;
	return sv_err(
	    SV_EUNSUPPORTED,
	    "%s: taken on the %s backend, but this manager runs VMs on %s (the vmm option); a snapshot "
	    "restores only on the backend that took it",
	    what, b->name, only->name);
}

int sv_vm__pick_backend(sv_vm *vm, char **binary_out, char **accel_out)
{
	const sv_manager_options *o = vm->host->opts;
	*binary_out = *accel_out = NULL;
	sv_vmm_kind kind = o->vmm;
	if (vm->restore_backend) {
		int rc = sv_vm__backend_allowed(o, vm->restore_backend, "snapshot");
		if (rc)
			return rc;
		kind = vm->restore_backend == &sv_vmm_qemu_ops ? SV_VMM_QEMU : SV_VMM_FIRECRACKER;
	}
	switch (kind) {
	case SV_VMM_QEMU:
		return pick_qemu(vm, o, binary_out, accel_out);
	case SV_VMM_FIRECRACKER:
		vm->backend = &sv_vmm_firecracker_ops;
		return find_firecracker(o, binary_out);
	case SV_VMM_AUTO:
	default:
		if (o->firecracker_binary_path || (*binary_out = cached_firecracker(o))) {
			vm->backend = &sv_vmm_firecracker_ops;
			return *binary_out ? 0 : find_firecracker(o, binary_out);
		}
		return pick_qemu(vm, o, binary_out, accel_out);
	}
}
