/* The container's VM (see oci_vm.h). */
#include "oci_vm.h"

#include "util/error.h"
#include "util/file.h"

#include <smartvm/images.h>
#include <stdlib.h>
#include <string.h>

#define ROOT_DRIVE_ID "rootfs"
/* The VM's id: its runtime dir is the container's own, so a short fixed
 * id keeps the sockets in it under the 108 bytes of a unix socket path
 * (<root>/<64-byte container id>/vm/vm/vport.sock). */
#define VM_ID "vm"

static int manager_for(sv_manager **out, const oci_dir *d, const oci_globals *g, char **runtime_dir)
{
	*runtime_dir = sv_path_join(d->dir, OCI_VM_DIR);
	if (!*runtime_dir)
		return sv_err(SV_ENOMEM, "out of memory");
	sv_manager_options o = SV_MANAGER_OPTIONS_INIT;
	o.runtime_dir = *runtime_dir;
	o.data_dir = g->data_dir;
	o.vmm = g->vmm;
	o.qemu_accel = g->accel;
	/* The root image is the container's own: no second copy of it. */
	o.ephemeral_writable_drives = SV_NO;
	return sv_manager_new(out, &o);
}

int oci_vm_boot(sv_manager **mgr_out, sv_vm **vm_out, const oci_bundle *b, const oci_dir *d,
		const oci_globals *g, const char *id)
{
	sv_manager *mgr = NULL;
	sv_base_image_bundle *image = NULL;
	char *runtime_dir = NULL, *disk = sv_path_join(d->dir, OCI_ROOTFS_FILE);
	sv_vm *vm = NULL;
	int rc = disk ? manager_for(&mgr, d, g, &runtime_dir) : sv_err(SV_ENOMEM, "out of memory");
	if (rc)
		goto fail;
	sv_base_image_options io = {.version = SV_BASE_IMAGE_OPTIONS_VERSION, .data_dir = g->data_dir};
	if ((rc = sv_base_image_open(&image, &io, b->image)) < 0) {
		if (rc == SV_ENOTFOUND)
			sv_err(rc,
			       "base image \"%s\" (the kernel and initrd containers boot; "
			       "annotation " OCI_ANNOTATION_IMAGE
			       ") is not in smartvm's cache%s%s: run `smartvm image build-minimal` first",
			       b->image, g->data_dir ? " under --data-dir " : "",
			       g->data_dir ? g->data_dir : "");
		goto fail;
	}
	sv_vm_config cfg = SV_VM_CONFIG_INIT;
	sv_drive_config image_root, root = {
					.drive_id = ROOT_DRIVE_ID,
					.path_on_host = disk,
					.is_root_device = true,
					.is_read_only = b->root_readonly,
				    };
	if ((rc = sv_base_image_vm_config(&cfg, &image_root, image)) < 0)
		goto fail;
	cfg.id = VM_ID;
	cfg.drives = &root;
	cfg.n_drives = 1;
	cfg.machine_config.vcpu_count = b->vcpus;
	cfg.machine_config.mem_size_mib = b->mem_mib;
	if ((rc = sv_manager_create_vm(&vm, mgr, &cfg)) < 0 || (rc = sv_vm_set_agent_exec(vm, true)) < 0 ||
	    (rc = sv_vm_start(vm)) < 0 || (rc = sv_vm_agent_wait(vm, OCI_AGENT_TIMEOUT_MS, NULL)) < 0)
		goto fail;
	sv_base_image_bundle_free(image);
	free(runtime_dir);
	free(disk);
	*mgr_out = mgr;
	*vm_out = vm;
	return 0;
fail:
	sv_err_prefix("booting the VM of container \"%s\"", id);
	sv_manager_free(mgr); /* kills the VM if it started */
	sv_base_image_bundle_free(image);
	free(runtime_dir);
	free(disk);
	return rc;
}

int oci_vm_teardown(const oci_dir *d, const oci_globals *g)
{
	char *runtime_dir = NULL, **ids = NULL;
	sv_manager *mgr = NULL;
	int rc = manager_for(&mgr, d, g, &runtime_dir), first = 0;
	if (rc == 0)
		rc = sv_manager_list_vm_ids(mgr, &ids);
	for (size_t i = 0; rc == 0 && ids && ids[i]; i++) {
		sv_vm *vm = NULL;
		int r = sv_manager_attach_vm(&vm, mgr, ids[i]);
		sv_vm_state st = r == 0 ? sv_vm_get_state(vm) : SV_VM_ERROR;
		if (r == 0 && (st == SV_VM_RUNNING || st == SV_VM_PAUSED || st == SV_VM_CONFIGURING))
			r = sv_vm_kill(vm);
		if (r < 0 && !first)
			first = r;
		sv_vm_free(vm);
	}
	if (rc == 0)
		rc = sv_manager_gc(mgr, NULL);
	sv_strv_free(ids);
	sv_manager_free(mgr);
	free(runtime_dir);
	return rc ? rc : first;
}
