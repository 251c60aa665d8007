/* Which VMM runs a VM, and which binary: the `vmm` option (auto picks
 * Firecracker when a binary is given or cached, else QEMU). */
#include "vm/vm_internal.h"

#include "manager/manager_internal.h"
#include "util/error.h"
#include "util/file.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const sv_vmm_ops *const backends[] = {
	&sv_vmm_firecracker_ops,
};

const sv_vmm_ops *sv_vm__backend_by_name(const char *name)
{
	for (size_t i = 0; name && i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

/* The Firecracker binary: the explicit path, else a cached download. */
static int find_firecracker(const sv_manager_options *o, char **out)
{
	*out = NULL;
	if (o->firecracker_binary_path) {
		if (!sv_path_exists(o->firecracker_binary_path))
			return sv_err(SV_ENOTFOUND, "firecracker_binary_path: %s: no such file", o->firecracker_binary_path);
		*out = strdup(o->firecracker_binary_path);
		return *out ? 0 : sv_err(SV_ENOMEM, "out of memory");
	}
	char *rel = NULL;
	if (asprintf(&rel, "bin/%s/firecracker", o->firecracker_version) < 0)
		return sv_err(SV_ENOMEM, "out of memory");
	char *path = sv_path_join(o->data_dir, rel);
	free(rel);
	if (path && sv_path_exists(path)) {
		*out = path;
		return 0;
	}
	free(path);
	return sv_err(SV_ENOTFOUND,
		      "no Firecracker binary: set firecracker_binary_path (--firecracker-bin) or run "
		      "`smartvm binary ensure`");
}

int sv_vm__pick_backend(sv_vm *vm, char **binary_out, char **accel_out)
{
	const sv_manager_options *o = sv_manager__opts(vm->mgr);
	*binary_out = *accel_out = NULL;
	switch (o->vmm) {
	case SV_VMM_QEMU:
		return sv_err(SV_EUNSUPPORTED, "vmm: the qemu backend is not built in yet");
	case SV_VMM_FIRECRACKER:
	case SV_VMM_AUTO:
	default:
		vm->backend = &sv_vmm_firecracker_ops;
		return find_firecracker(o, binary_out);
	}
}
