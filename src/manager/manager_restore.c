/* Restores and clones from a snapshot (include/smartvm/live.h): src/vm builds
 * and boots the VMs (vm_snapshot.c), the manager names and registers them. */
#include "manager/manager_internal.h"

#include "util/error.h"
#include "util/options_version.h"
#include "vm/vm_internal.h"
#include <stdio.h>
#include <stdlib.h>

static int restore_one(sv_vm **out, sv_manager *mgr, const sv_vm_restore *r, const char *id)
{
	*out = NULL;
	sv_vm *vm = NULL;
	int rc = sv_vm__restore_new(&vm, r, id);
	if (rc)
		return rc;
	if ((rc = sv_manager__register_vm(mgr, vm))) {
		sv_vm__free(vm);
		return rc;
	}
	rc = sv_vm__restore_boot(vm, r);
	if (rc)
		return rc; /* the VM stays registered, in state error, like a failed start */
	*out = vm;
	return 0;
}

int sv_manager_restore_vm(sv_vm **out, sv_manager *mgr, const char *dir, const sv_restore_options *opts)
{
	sv_err_clear();
	*out = NULL;
	int vrc = SV_CHECK_OPTIONS(opts, sv_restore_options, SV_RESTORE_OPTIONS);
	if (vrc)
		return vrc;
	sv_vm_restore *r = NULL;
	int rc = sv_vm__restore_begin(&r, sv_manager__host(mgr), dir, opts, 1);
	char generated[SV_VM_GENERATED_ID_LEN];
	const char *id = r ? sv_vm__restore_id(r) : NULL;
	if (!id) {
		sv_vm__generate_id(generated);
		id = generated;
	}
	if (!rc)
		rc = restore_one(out, mgr, r, id);
	sv_vm__restore_end(r);
	return rc;
}

int sv_manager_clone_vms(sv_vm ***vms_out, sv_manager *mgr, const char *dir, size_t count,
			 const sv_restore_options *opts)
{
	sv_err_clear();
	*vms_out = NULL;
	int vrc = SV_CHECK_OPTIONS(opts, sv_restore_options, SV_RESTORE_OPTIONS);
	if (vrc)
		return vrc;
	if (count == 0)
		return sv_err(SV_EINVAL, "count: must be at least 1");
	sv_vm_restore *r = NULL;
	int rc = sv_vm__restore_begin(&r, sv_manager__host(mgr), dir, opts, count);
	sv_vm **vms = rc ? NULL : calloc(count, sizeof(*vms));
	if (!rc && !vms)
		rc = sv_err(SV_ENOMEM, "out of memory");
	const char *given = r ? sv_vm__restore_id(r) : NULL;
	char prefix[SV_VM_GENERATED_ID_LEN];
	if (!given)
		sv_vm__generate_id(prefix);
	size_t made = 0;
	for (; !rc && made < count; made++) {
		char *id = NULL;
		if (asprintf(&id, "%s-%zu", given ? given : prefix, made + 1) < 0) {
			rc = sv_err(SV_ENOMEM, "out of memory");
			break;
		}
		rc = restore_one(&vms[made], mgr, r, id);
		if (rc)
			sv_err_prefix("clone %zu of %zu", made + 1, count);
		free(id);
		if (rc)
			break;
	}
	if (rc && vms) {
		sv_err_saved saved;
		sv_err_save(&saved);
		for (size_t i = 0; i < count; i++)
			if (vms[i])
				sv_vm_kill(vms[i]);
		sv_err_restore(&saved);
		free(vms);
		vms = NULL;
	}
	sv_vm__restore_end(r);
	*vms_out = vms;
	return rc;
}
