/* The container's VM (see oci_vm.h). */
#include "oci_vm.h"

#include "oci_mount_apply.h"
#include "oci_net.h"

#include "util/error.h"
#include "util/file.h"
#include "util/strv.h"

#include <smartvm/images.h>
#include <stdio.h>
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

/* The bind mounts' drives (oci_mount_drives.h), after the root. Writable
 * in the VM: several binds share the files' drive, and a read-only bind
 * is a read-only mount in the guest. */
static void bind_drives(sv_drive_config *out, char ids[][16], char paths[][4200], const oci_bundle *b,
			const oci_dir *d)
{
	for (size_t i = 0; i < b->mounts.n_drives; i++) {
		snprintf(ids[i], 16, "bind%u", (unsigned)i); /* i < OCI_MAX_BIND_DRIVES */
		snprintf(paths[i], 4200, "%s/%s", d->dir, b->mounts.drive_files[i]);
		out[i] = (sv_drive_config){.drive_id = ids[i], .path_on_host = paths[i]};
	}
}

int oci_vm_boot(sv_manager **mgr_out, sv_vm **vm_out, const oci_bundle *b, const oci_dir *d,
		const oci_globals *g, const char *id)
{
	sv_manager *mgr = NULL;
	sv_base_image_bundle *image = NULL;
	char *runtime_dir = NULL, *disk = sv_path_join(d->dir, OCI_ROOTFS_FILE);
	sv_vm *vm = NULL;
	static char ids[OCI_MAX_BIND_DRIVES][16], files[OCI_MAX_BIND_DRIVES][4200];
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
	sv_drive_config image_root, drives[1 + OCI_MAX_BIND_DRIVES] = {{
					.drive_id = ROOT_DRIVE_ID,
					.path_on_host = disk,
					.is_root_device = true,
					.is_read_only = b->root_readonly,
				    }};
	if ((rc = sv_base_image_vm_config(&cfg, &image_root, image)) < 0)
		goto fail;
	bind_drives(drives + 1, ids, files, b, d);
	cfg.id = VM_ID;
	cfg.drives = drives;
	cfg.n_drives = 1 + b->mounts.n_drives;
	cfg.machine_config.vcpu_count = b->vcpus;
	cfg.machine_config.mem_size_mib = b->mem_mib;
	oci_net net;
	if (b->netns_path) {
		if ((rc = oci_net_prepare(&net, b->netns_path)) < 0)
			goto fail;
		oci_net_apply(&net, &cfg);
	}
	if ((rc = sv_manager_create_vm(&vm, mgr, &cfg)) < 0 || (rc = sv_vm_set_agent_exec(vm, true)) < 0 ||
	    (rc = sv_vm_start(vm)) < 0 || (rc = sv_vm_agent_wait(vm, OCI_AGENT_TIMEOUT_MS, NULL)) < 0 ||
	    (rc = oci_mounts_apply(vm, &b->mounts)) < 0)
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

void oci_vm_hold_all(oci_vm_hold *h, const oci_dir *d, const oci_globals *g)
{
	char *runtime_dir = NULL, **ids = NULL;
	*h = (oci_vm_hold){0};
	if (manager_for(&h->mgr, d, g, &runtime_dir) == 0 && sv_manager_list_vm_ids(h->mgr, &ids) == 0) {
		sv_strv_builder b = {0};
		for (size_t i = 0; ids && ids[i]; i++) {
			sv_vm *vm = NULL;
			if (sv_manager_attach_vm(&vm, h->mgr, ids[i]) == 0)
				sv_strv_push(&b, ids[i]);
		}
		if (sv_strv_finish(&b, &h->ids) < 0)
			h->ids = NULL; /* then teardown finds them again */
	}
	sv_err_clear(); /* teardown says what went wrong */
	sv_strv_free(ids);
	free(runtime_dir);
}

void oci_vm_release(oci_vm_hold *h)
{
	sv_strv_free(h->ids);
	sv_manager_free(h->mgr); /* attached VMs are left running */
	*h = (oci_vm_hold){0};
}

/* Kills the VM if it still runs and waits for its supervisor; one gone
 * meanwhile is fine. Keeps the first error in *first. */
static void end_vms(sv_manager *mgr, char **ids, int *first)
{
	for (size_t i = 0; ids && ids[i]; i++) {
		sv_vm *vm = NULL;
		int rc = sv_manager_attach_vm(&vm, mgr, ids[i]); /* a held one is that one */
		if (rc == SV_ENOTFOUND) {
			sv_err_clear();
			continue;
		}
		sv_vm_state st = rc == 0 ? sv_vm_get_state(vm) : SV_VM_ERROR;
		if (rc == 0 && (st == SV_VM_RUNNING || st == SV_VM_PAUSED || st == SV_VM_CONFIGURING))
			rc = sv_vm_kill(vm);
		sv_vm_free(vm);
		if (rc < 0 && !*first)
			*first = rc;
	}
}

int oci_vm_teardown(oci_vm_hold *h, const oci_dir *d, const oci_globals *g)
{
	char *runtime_dir = NULL, **ids = NULL;
	int rc = h->mgr ? 0 : manager_for(&h->mgr, d, g, &runtime_dir), first = 0;
	if (rc == 0) /* the held ones first: their directories may be gone already */
		end_vms(h->mgr, h->ids, &first);
	if (rc == 0 && (rc = sv_manager_list_vm_ids(h->mgr, &ids)) == 0)
		end_vms(h->mgr, ids, &first);
	if (rc == 0)
		rc = sv_manager_gc(h->mgr, NULL);
	sv_strv_free(ids);
	oci_vm_release(h);
	free(runtime_dir);
	return rc ? rc : first;
}

int oci_vm_attach(sv_manager **mgr_out, sv_vm **vm_out, const oci_dir *d, const oci_globals *g)
{
	char *runtime_dir = NULL;
	sv_manager *mgr = NULL;
	int rc = manager_for(&mgr, d, g, &runtime_dir);
	if (rc == 0 && (rc = sv_manager_attach_vm(vm_out, mgr, VM_ID)) == SV_ENOTFOUND)
		rc = sv_err(SV_EINVALID_STATE, "its VM is gone");
	free(runtime_dir);
	if (rc < 0) {
		sv_manager_free(mgr);
		return rc;
	}
	*mgr_out = mgr;
	return 0;
}
