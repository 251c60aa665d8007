/* VM-level snapshots for the QEMU backend (include/smartvm/qemu_snapshot.h).
 *
 * Snapshot: pause, let the backend write QEMU's migration stream
 * (sv_qemu_snapshot), copy the writable drives as they are at the pause, and
 * save the config the restore needs; resume if it was running. The directory
 * is built under a temporary name and renamed, so it is complete or absent.
 *
 * Restore: a new VM from the saved config, booted through the ordinary start
 * path with one difference: its backend is a variant of the QEMU ops whose
 * QEMU waits for a migration stream (-incoming defer) and whose
 * configure/start leave it waiting. The state is then loaded and the guest
 * resumed; any failure kills the new VM, which replays its ledger. The
 * variant is chosen by vm_backend.c when vm->qemu_incoming is set.
 * Never writes into the snapshot directory while restoring: many VMs may be
 * restored from one snapshot. */
#include "vm/vm_internal.h"

#include "manager/manager_internal.h"
#include "util/error.h"
#include "util/file.h"
#include "vmm/qemu/qemu.h"
#include <errno.h>
#include <pthread.h>
#include <smartvm/qemu_snapshot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_FILE "vmstate"
#define CONFIG_FILE "config.json"
#define DRIVES_DIR "drives"

/* ---- the incoming variant of the QEMU backend ---- */

static sv_vmm_ops incoming_ops;

static int incoming_configure(sv_vmm *vmm, const sv_vm_config *cfg)
{
	(void)cfg;
	char *status = NULL;
	int rc = sv_qemu_status(vmm, &status);
	if (rc)
		return rc;
	if (strcmp(status, "inmigrate") != 0)
		rc = sv_err(SV_EVMM, "QEMU is %s, not waiting for a snapshot (inmigrate)", status);
	free(status);
	return rc;
}

/* The state is loaded by the restore right after start returns. */
static int incoming_start(sv_vmm *vmm)
{
	(void)vmm;
	return 0;
}

static void init_incoming_ops(void)
{
	incoming_ops = sv_vmm_qemu_ops;
	incoming_ops.build_argv = sv_qemu_build_argv_incoming;
	incoming_ops.configure = incoming_configure;
	incoming_ops.start = incoming_start;
}

const sv_vmm_ops *sv_vm__qemu_incoming_ops(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, init_incoming_ops);
	return &incoming_ops;
}

/* ---- snapshot ---- */

/* The config a restore boots: as given, with the boot args and MACs the VM
 * booted with, and writable drives pointing at their copies in dir. */
static int snapshot_config(sv_vm *vm, const char *dir, const char *final_dir)
{
	sv_vm_config *cfg = NULL;
	int rc = sv_vm_config_copy(&cfg, vm->cfg);
	if (rc)
		return rc;
	free((char *)cfg->id);
	cfg->id = NULL;
	free((char *)cfg->boot_source.boot_args);
	cfg->boot_source.boot_args =
	    vm->staged->boot_source.boot_args ? strdup(vm->staged->boot_source.boot_args) : NULL;
	sv_net_iface_config *nics = (sv_net_iface_config *)cfg->network_interfaces;
	for (size_t i = 0; i < cfg->n_network_interfaces && !rc; i++) {
		if (!nics[i].guest_mac && vm->staged->network_interfaces[i].guest_mac &&
		    !(nics[i].guest_mac = strdup(vm->staged->network_interfaces[i].guest_mac)))
			rc = sv_err(SV_ENOMEM, "out of memory");
	}
	sv_drive_config *drives = (sv_drive_config *)cfg->drives;
	for (size_t i = 0; i < cfg->n_drives && !rc; i++) {
		if (drives[i].is_read_only)
			continue;
		char *rel = NULL, *copy = NULL, *final = NULL;
		if (asprintf(&rel, DRIVES_DIR "/%s", drives[i].drive_id) < 0)
			rel = NULL;
		copy = rel ? sv_path_join(dir, rel) : NULL;
		final = rel ? sv_path_join(final_dir, rel) : NULL;
		if (!copy || !final) {
			rc = sv_err(SV_ENOMEM, "out of memory");
		} else if ((rc = sv_copy_sparse(vm->staged->drives[i].path_on_host, copy)) == 0) {
			free((char *)drives[i].path_on_host);
			drives[i].path_on_host = final;
			final = NULL;
			drives[i].ephemeral = SV_YES; /* every restore gets its own copy */
		}
		free(rel);
		free(copy);
		free(final);
	}
	char *path = sv_path_join(dir, CONFIG_FILE);
	if (!rc)
		rc = path ? sv_vm_config_save(cfg, path) : sv_err(SV_ENOMEM, "out of memory");
	free(path);
	sv_vm_config_free(cfg);
	return rc;
}

static int write_snapshot(sv_vm *vm, const char *tmp, const char *dir, int timeout_ms)
{
	char *drives = sv_path_join(tmp, DRIVES_DIR), *state = sv_path_join(tmp, STATE_FILE);
	int rc = 0;
	if (!drives || !state)
		rc = sv_err(SV_ENOMEM, "out of memory");
	else if (mkdir(tmp, 0700) != 0 || mkdir(drives, 0700) != 0)
		rc = sv_err_errno(SV_EIO, errno, "creating %s", tmp);
	if (!rc)
		rc = sv_qemu_snapshot(vm->vmm, state, timeout_ms);
	if (!rc)
		rc = snapshot_config(vm, tmp, dir);
	if (!rc && rename(tmp, dir) != 0)
		rc = sv_err_errno(SV_EIO, errno, "renaming %s to %s", tmp, dir);
	free(drives);
	free(state);
	return rc;
}

int sv_vm_qemu_snapshot(sv_vm *vm, const char *dir, int timeout_ms)
{
	sv_err_clear();
	sv_vm_state state = sv_vm_get_state(vm);
	if (state != SV_VM_RUNNING && state != SV_VM_PAUSED)
		return sv_err(SV_EINVALID_STATE, "VM \"%s\" is %s; snapshot is allowed when running|paused",
			      vm->id, sv_vm_state_name(state));
	if (vm->backend != &sv_vmm_qemu_ops)
		return sv_err(SV_EUNSUPPORTED, "snapshot of VM \"%s\": not supported by the %s backend here",
			      vm->id, vm->backend ? vm->backend->name : "unknown");
	if (sv_path_exists(dir))
		return sv_err(SV_EEXISTS, "snapshot of VM \"%s\": %s already exists", vm->id, dir);
	char *tmp = NULL;
	if (asprintf(&tmp, "%s.tmp.%d", dir, (int)getpid()) < 0)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = state == SV_VM_RUNNING ? sv_vm_pause(vm) : 0;
	if (!rc)
		rc = write_snapshot(vm, tmp, dir, timeout_ms);
	sv_err_saved saved;
	sv_err_save(&saved);
	sv_rm_rf(tmp);
	int resumed = state == SV_VM_RUNNING && sv_vm_get_state(vm) == SV_VM_PAUSED ? sv_vm_resume(vm) : 0;
	sv_err_restore(&saved);
	free(tmp);
	if (!rc && resumed)
		rc = resumed;
	return rc ? sv_err_prefix("snapshot of VM \"%s\" to %s", vm->id, dir) : 0;
}

/* ---- restore ---- */

static int load_state(sv_vm *vm, const char *state_path, int timeout_ms)
{
	int rc = sv_qemu_restore(vm->vmm, state_path, timeout_ms);
	if (!rc)
		rc = sv_vmm_qemu_ops.resume(vm->vmm);
	/* From here on it is an ordinary QEMU VM. */
	vm->backend = &sv_vmm_qemu_ops;
	return rc;
}

int sv_manager_qemu_restore_vm(sv_vm **out, sv_manager *mgr, const char *dir, const char *id, int timeout_ms)
{
	sv_err_clear();
	*out = NULL;
	sv_vm_config *cfg = NULL;
	sv_vm *vm = NULL;
	char *cfg_path = sv_path_join(dir, CONFIG_FILE), *state_path = sv_path_join(dir, STATE_FILE);
	int rc = 0;
	if (!cfg_path || !state_path) {
		rc = sv_err(SV_ENOMEM, "out of memory");
		goto out;
	}
	if (!sv_path_exists(state_path)) {
		rc = sv_err(SV_ENOTFOUND, "%s: no such file (not a QEMU snapshot directory)", state_path);
		goto out;
	}
	if ((rc = sv_vm_config_load(&cfg, cfg_path)))
		goto out;
	cfg->id = id;
	rc = sv_manager_create_vm(&vm, mgr, cfg);
	cfg->id = NULL; /* borrowed from the caller */
	if (rc)
		goto out;
	vm->qemu_incoming = true;
	if ((rc = sv_vm_start(vm)))
		goto out;
	if ((rc = load_state(vm, state_path, timeout_ms))) {
		sv_err_saved saved;
		sv_err_save(&saved);
		sv_vm_kill(vm);
		sv_err_restore(&saved);
		goto out;
	}
	*out = vm;
out:
	free(cfg_path);
	free(state_path);
	sv_vm_config_free(cfg);
	return rc ? sv_err_prefix("restoring from %s", dir) : 0;
}
