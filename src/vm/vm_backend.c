/* Which VMM runs a VM, and which binary: the `vmm` option. auto picks
 * Firecracker when a binary is given (firecracker_binary_path) or cached
 * (sv_firecracker_binary_cached), else QEMU. QEMU's binary is
 * resolved through PATH here, because the supervisor spawns argv[0] as a
 * path; its accelerator comes from sv_qemu_pick_accel (auto never picks the
 * PVM nested hypervisor, under which ordinary guest kernels hang).
 * A restore runs on the backend its snapshot was taken on (auto allows
 * either; an explicit vmm option that differs is refused).
 * Never downloads anything: a missing binary is an error naming the option. */
#include "vm/vm_internal.h"

#include "manager/manager_internal.h"
#include "util/error.h"
#include "util/file.h"
#include "vmm/qemu/qemu.h"
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

/* name as given when it contains a '/', else the first executable PATH entry. */
static int find_in_path(const char *name, char **out)
{
	*out = NULL;
	if (!*name)
		return sv_err(SV_EINVAL, "qemu_binary: must not be empty");
	if (strchr(name, '/')) {
		if (access(name, X_OK) != 0)
			return sv_err(SV_ENOTFOUND, "qemu_binary: %s: not an executable file", name);
		*out = sv_path_absolute(name, NULL);
		return *out ? 0 : sv_err_errno(SV_EIO, errno, "qemu_binary: %s", name);
	}
	const char *path = getenv("PATH");
	char *dirs = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	if (!dirs)
		return sv_err(SV_ENOMEM, "out of memory");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *candidate = sv_path_join(d, name);
		if (candidate && access(candidate, X_OK) == 0) {
			*out = sv_path_absolute(candidate, NULL); /* PATH may hold relative entries */
			int e = errno;
			free(candidate);
			free(dirs);
			return *out ? 0 : sv_err_errno(SV_EIO, e, "qemu_binary: %s", name);
		}
		free(candidate);
	}
	free(dirs);
	return sv_err(SV_ENOTFOUND, "qemu_binary: %s: not found in PATH (install qemu-system-x86)", name);
}

static int pick_qemu(sv_vm *vm, const sv_manager_options *o, char **binary_out, char **accel_out)
{
	const char *accel = NULL;
	int rc = sv_qemu_pick_accel(o->qemu_accel, &accel);
	if (rc || (rc = find_in_path(o->qemu_binary, binary_out)))
		return rc;
	if (!(*accel_out = strdup(accel))) {
		free(*binary_out);
		*binary_out = NULL;
		return sv_err(SV_ENOMEM, "out of memory");
	}
	vm->backend = &sv_vmm_qemu_ops;
	return 0;
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
	const sv_manager_options *o = sv_manager__opts(vm->mgr);
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
