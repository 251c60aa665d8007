/* Drive staging: writable drives (and drives marked ephemeral) get a private
 * copy in <vm dir>/drives/<drive id>-<basename>, and the VMM is given the
 * path relative to the VM directory (its working directory): Firecracker
 * stores drive paths in its snapshots and re-opens them on load, so a
 * relative path is what lets a snapshot be restored into another VM
 * directory with its own copies. The original is only ever read. The copy keeps holes and uses a
 * reflink where the filesystem can (sv_copy_sparse). Each copy is in the
 * ledger before it is made. */
#include "vm/vm_internal.h"

#include "util/error.h"
#include "util/fault.h"
#include "util/file.h"
#include "util/ledger.h"
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool sv_vm__should_stage(const sv_drive_config *d, bool ephemeral_writable)
{
	if (d->ephemeral == SV_YES)
		return true;
	if (d->ephemeral == SV_NO)
		return false;
	return !d->is_read_only && ephemeral_writable;
}

/* "<drive id>-<basename>", with anything unusual in the basename replaced. */
static char *staged_name(const sv_drive_config *d)
{
	char *copy = strdup(d->path_on_host);
	if (!copy)
		return NULL;
	char *name = NULL;
	if (asprintf(&name, "%s-%s", d->drive_id, basename(copy)) < 0)
		name = NULL;
	free(copy);
	for (char *p = name; p && *p; p++)
		if (!(*p == '.' || *p == '_' || *p == '-' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z')))
			*p = '_';
	return name;
}

static int stage_one(sv_vm *vm, sv_ledger *ledger, sv_drive_config *d, const char *drives_dir)
{
	(void)vm;
	char *name = staged_name(d);
	char *dst = name ? sv_path_join(drives_dir, name) : NULL;
	char *rel = NULL;
	if (!dst || asprintf(&rel, "%s/%s", SV_VM_DRIVES_DIR, name) < 0) {
		free(name);
		free(dst);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	free(name);
	int rc = sv_ledger_record(ledger, "file", dst, NULL);
	if (!rc)
		rc = SV_FAULT_POINT("launch.stage_drive");
	if (!rc)
		rc = sv_copy_sparse(d->path_on_host, dst);
	free(dst);
	if (rc) {
		free(rel);
		return sv_err_prefix("staging drive \"%s\"", d->drive_id);
	}
	free((void *)d->path_on_host);
	d->path_on_host = rel;
	return 0;
}

int sv_vm__stage_drives(sv_vm *vm, sv_ledger *ledger, bool ephemeral_writable)
{
	sv_drive_config *drives = (sv_drive_config *)vm->staged->drives;
	char *drives_dir = NULL;
	int rc = 0;
	for (size_t i = 0; i < vm->staged->n_drives && !rc; i++) {
		if (!sv_vm__should_stage(&drives[i], ephemeral_writable))
			continue;
		if (!drives_dir) {
			drives_dir = sv_path_join(vm->dir, SV_VM_DRIVES_DIR);
			if (!drives_dir)
				return sv_err(SV_ENOMEM, "out of memory");
			if ((rc = sv_mkdir_p(drives_dir, 0700)))
				break;
		}
		rc = stage_one(vm, ledger, &drives[i], drives_dir);
	}
	free(drives_dir);
	return rc;
}
