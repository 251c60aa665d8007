/* config.json's mounts -> MOUNT requests (see oci_mount_apply.h). */
#include "oci_mount_apply.h"

#include "oci_vm.h"

#include "util/error.h"

#include <smartvm/agent.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <string.h>

static const char *const fstypes[] = {
    [OCI_MOUNT_PROC] = "proc",	 [OCI_MOUNT_SYSFS] = "sysfs",	[OCI_MOUNT_DEVPTS] = "devpts",
    [OCI_MOUNT_TMPFS] = "tmpfs", [OCI_MOUNT_MQUEUE] = "mqueue", [OCI_MOUNT_CGROUP] = "cgroup",
    [OCI_MOUNT_BIND] = "ext4",
};

/* dest == want, ignoring trailing slashes. */
static bool same_path(const char *dest, const char *want)
{
	size_t n = strlen(want);
	if (strncmp(dest, want, n) != 0)
		return false;
	return strspn(dest + n, "/") == strlen(dest + n);
}

bool oci_mount_is_skipped(const oci_mount *m)
{
	switch (m->kind) {
	case OCI_MOUNT_CGROUP:
		return true;
	case OCI_MOUNT_PROC:
		return same_path(m->destination, "/proc");
	case OCI_MOUNT_SYSFS:
		return same_path(m->destination, "/sys");
	case OCI_MOUNT_DEVPTS:
		return same_path(m->destination, "/dev/pts");
	case OCI_MOUNT_TMPFS:
		return same_path(m->destination, "/dev");
	default:
		return false;
	}
}

int oci_mounts_apply(sv_vm *vm, const oci_mounts *m)
{
	for (size_t i = 0; i < m->n; i++) {
		const oci_mount *e = &m->items[i];
		if (oci_mount_is_skipped(e))
			continue;
		char device[16];
		sv_guest_mount_options o = SV_GUEST_MOUNT_OPTIONS_INIT;
		o.fstype = fstypes[e->kind];
		o.source = e->source;
		o.flags = e->flags;
		o.data = e->data;
		o.create = SV_MOUNT_CREATE_DIR;
		o.agent_timeout_ms = OCI_AGENT_TIMEOUT_MS;
		if (e->kind == OCI_MOUNT_BIND) {
			/* The drives follow the root (vda) in order. */
			snprintf(device, sizeof(device), "/dev/vd%c", 'b' + e->drive);
			o.source = device;
			o.data = NULL;
			o.subpath = e->is_dir ? NULL : e->subpath;
			o.create = e->is_dir ? SV_MOUNT_CREATE_DIR : SV_MOUNT_CREATE_FILE;
		}
		int rc = sv_vm_guest_mount(vm, e->destination, &o);
		if (rc)
			return sv_err_prefix("config.json: mounts[%zu] (%s on %s)", i,
					     e->kind == OCI_MOUNT_BIND ? "bind" : fstypes[e->kind], e->destination);
	}
	return 0;
}
