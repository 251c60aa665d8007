/* One microVM: the state machine and the public lifecycle calls.
 *
 * Invariants: every host resource a VM creates is in its ledger before it
 * exists; any failure in sv_vm_start leaves nothing behind (ledger replay);
 * state changes are persisted to state.json so other processes see them.
 * Process handling lives in vm_launch.c, drive staging in vm_stage.c, the
 * state file in vm_state_file.c. */
#include "vm/vm_internal.h"

#include "config/config_versions.h"
#include "images/cache.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/file.h"
#include "util/ledger.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/trace.h"
#include "util/trusted_dir.h"
#include "util/vm_alive.h"
#include "vm/vm_agent.h"
#include "vm/vm_net.h"
#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *const state_names[] = {
    [SV_VM_CREATED] = "created", [SV_VM_CONFIGURING] = "configuring", [SV_VM_RUNNING] = "running",
    [SV_VM_PAUSED] = "paused",	 [SV_VM_STOPPED] = "stopped",	      [SV_VM_ERROR] = "error",
};

const char *sv_vm_state_name(sv_vm_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "unknown";
}

const char *sv_vm_id(const sv_vm *vm) { return vm->id; }
int sv_vm_config_get(sv_vm_config **out, const sv_vm *vm, unsigned int version)
{
	sv_err_clear();
	*out = NULL;
	return sv_config_convert((void **)out, version, vm->cfg, SV_VM_CONFIG_VERSION);
}
const char *sv_vm_dir(const sv_vm *vm) { return vm->dir; }
const char *sv_vm_console_path(const sv_vm *vm) { return vm->console_path; }
pid_t sv_vm_pid(const sv_vm *vm) { return sv_vm__is_live(vm) ? vm->vmm_pid : 0; }
bool sv_vm__is_detached(const sv_vm *vm) { return vm->detached; }

bool sv_vm__is_live(const sv_vm *vm)
{
	return vm->state == SV_VM_CONFIGURING || vm->state == SV_VM_RUNNING || vm->state == SV_VM_PAUSED;
}

const sv_tap_device *sv_vm_tap_device(const sv_vm *vm, size_t index)
{
	return vm->taps && index < vm->n_taps ? &vm->taps[index] : NULL;
}

/* "VM \"web\" is paused; pause is allowed when running". */
int sv_vm__require_state(const sv_vm *vm, const char *action, unsigned allowed_mask)
{
	if (allowed_mask & (1u << vm->state))
		return 0;
	char allowed[128] = "";
	for (unsigned s = 0; s <= SV_VM_ERROR; s++) {
		if (!(allowed_mask & (1u << s)))
			continue;
		if (*allowed)
			strncat(allowed, "|", sizeof(allowed) - strlen(allowed) - 1);
		strncat(allowed, state_names[s], sizeof(allowed) - strlen(allowed) - 1);
	}
	return sv_err(SV_EINVALID_STATE, "VM \"%s\" is %s; %s is allowed when %s", vm->id,
		      sv_vm_state_name(vm->state), action, allowed);
}

/* After a start step lost the VMM's API connection: how long the VMM may take
 * to finish exiting, and its supervisor to report, so its reason can be
 * quoted. */
#define VMM_EXIT_WAIT_MS 2000
#define VMM_REPORT_WAIT_MS 8000

#define ST(s) (1u << (s))
#define require_state sv_vm__require_state

static int vm_paths(sv_vm *vm)
{
	vm->dir = sv_path_join(vm->host->opts->runtime_dir, vm->id);
	vm->console_path = vm->dir ? sv_path_join(vm->dir, SV_VM_CONSOLE_FILE) : NULL;
	return vm->console_path ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

static sv_vm *vm_alloc(const sv_vm_host *host, const char *id)
{
	sv_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	vm->host = host;
	vm->supervisor_pidfd = vm->status_fd = vm->control_fd = vm->dir_fd = vm->lock_fd = -1;
	vm->id = strdup(id);
	if (!vm->id || vm_paths(vm)) {
		sv_vm__free(vm);
		return NULL;
	}
	return vm;
}

void sv_vm__generate_id(char out[SV_VM_GENERATED_ID_LEN])
{
	snprintf(out, SV_VM_GENERATED_ID_LEN, "vm-%012llx", sv_random_u64() & 0xffffffffffffULL);
}

int sv_vm__new(sv_vm **out, const sv_vm_host *host, const sv_vm_config *cfg, const char *id)
{
	sv_vm *vm = vm_alloc(host, id);
	if (!vm)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = sv_vm_config_copy(&vm->cfg, cfg);
	if (rc) {
		sv_vm__free(vm);
		return rc;
	}
	/* The copy carries the id we settled on, generated or given. */
	free((void *)vm->cfg->id);
	vm->cfg->id = strdup(id);
	if (!vm->cfg->id) {
		sv_vm__free(vm);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	*out = vm;
	return 0;
}

/* Opens <runtime_dir>/<id>, checking the runtime dir and the VM dir (owned by
 * us, not a symlink, not writable by others) without creating anything. */
int sv_vm__open_dir(const sv_vm_host *host, const char *id, int *fd_out)
{
	const char *rt = host->opts->runtime_dir;
	int rtfd = -1;
	int rc = sv_trusted_dir_existing("runtime_dir", rt, &rtfd);
	if (!rc) {
		rc = sv_trusted_subdir_existing("runtime_dir", rtfd, rt, id, fd_out);
		close(rtfd);
	}
	if (rc == SV_ENOTFOUND)
		return sv_err(SV_ENOTFOUND, "no VM with id \"%s\" in %s", id, rt);
	return rc;
}

/* Why a VM nobody supervises stopped where it did, for ps and inspect. */
static char *unsupervised_reason(const sv_vm *vm, bool has_state)
{
	char *failed = NULL, *reason = NULL;
	if (sv_read_file_at(vm->dir_fd, vm->dir, SV_LEDGER_CLEANUP_ERROR, 64 * 1024, &failed, NULL) == 0) {
		failed[strcspn(failed, "\n")] = '\0';
		if (asprintf(&reason, "cleanup failed: %s; `smartvm gc` retries it", failed) < 0)
			reason = NULL;
	} else if (!has_state) {
		reason = strdup(
		    "its start was interrupted before its state was saved; `smartvm gc` removes what it "
		    "left behind");
	} else {
		reason = strdup("its supervisor is gone; `smartvm gc` removes what it left behind");
	}
	free(failed);
	sv_err_clear();
	return reason;
}

/* Keeps the lock file of someone else's VM open, so that its end is seen
 * when its supervisor has exited (see vm->lock_fd); 1 when it is held. */
static int open_lock(sv_vm *vm)
{
	int rc = sv_vm_lock_open_at(vm->dir_fd, &vm->lock_fd);
	return rc < 0 || vm->lock_fd < 0 ? rc : sv_vm_lock_fd_held(vm->lock_fd);
}

int sv_vm__open_existing(sv_vm **out, const sv_vm_host *host, const char *id)
{
	if (!*id || strchr(id, '/') || !strcmp(id, ".") || !strcmp(id, ".."))
		return sv_err(SV_ENOTFOUND, "no VM with id \"%s\"", id);
	sv_vm *vm = vm_alloc(host, id);
	if (!vm)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = sv_vm__open_dir(host, id, &vm->dir_fd);
	/* A VM that ended detached: what is left is how it ended. */
	if (!rc && (vm->end_record = sv_vm__read_end_record(vm->dir_fd, vm->dir))) {
		vm->state = SV_VM_STOPPED;
		vm->detached = true;
		vm->backend = sv_vm__backend_by_name(json_string_value(json_object_get(vm->end_record, "vmm")));
		sv_vm__load_end_record(vm);
		sv_vm__load_config(vm);
		*out = vm;
		return 0;
	}
	/* Someone else's VM: we never stop it implicitly. Its directory lock is
	 * held by its supervisor (or by the process still starting it); a free
	 * lock means leftovers of a VM nobody watches any more. */
	int held = rc ? 0 : open_lock(vm);
	if (!rc && held < 0)
		rc = sv_err_prefix("VM \"%s\"", id);
	bool has_state = true;
	if (!rc && (rc = sv_vm__load_state(vm)) == SV_ENOTFOUND) {
		/* Killed before its first state.json (the id claimed, nothing
		 * saved yet): still starting while its lock is held. */
		has_state = false;
		vm->state = held ? SV_VM_CONFIGURING : SV_VM_ERROR;
		sv_vm__load_config(vm);
		rc = 0;
	}
	if (rc) {
		sv_vm__free(vm);
		return rc;
	}
	vm->detached = true;
	if (!held && (sv_vm__is_live(vm) || !has_state)) {
		vm->state = SV_VM_ERROR;
		vm->end_reason = unsupervised_reason(vm, has_state);
	}
	*out = vm;
	return 0;
}

void sv_vm__free(sv_vm *vm)
{
	if (!vm)
		return;
	if (vm->vmm)
		vm->backend->disconnect(vm->vmm);
	if (vm->supervisor_pidfd >= 0)
		close(vm->supervisor_pidfd);
	if (vm->status_fd >= 0)
		close(vm->status_fd);
	if (vm->control_fd >= 0)
		close(vm->control_fd); /* without a prior 'D' this makes the supervisor kill the VM */
	if (vm->dir_fd >= 0)
		close(vm->dir_fd);
	if (vm->lock_fd >= 0)
		close(vm->lock_fd);
	sv_vm_config_free(vm->cfg);
	sv_vm_config_free(vm->staged);
	sv_vm__command_free(vm->command);
	free(vm->taps);
	free(vm->end_reason);
	json_decref(vm->end_record);
	sv_buf_free(&vm->status);
	free(vm->console_path);
	free(vm->dir);
	free(vm->id);
	sv_vm__jail_free(vm->jail);
	free(vm->jail_root);
	free(vm);
}

/* The bundle this VM boots from: named in its directory (removed with it) and
 * registered in the image cache with this directory, so that eviction run
 * with any runtime dir sees the bundle in use while this VM lives. */
static int mark_base_image_in_use(sv_vm *vm)
{
	const char *id = vm->cfg->base_image;
	if (!id)
		return 0;
	int rc = sv_write_file_atomic_at(vm->dir_fd, vm->dir, SV_CACHE_VM_BUNDLE_FILE, id, strlen(id), 0644);
	if (!rc)
		rc = sv_cache_mark_in_use(vm->host->opts->base_image_cache_dir, id, vm->dir);
	return rc ? sv_err_prefix("base_image \"%s\"", id) : 0;
}

/* "a VM with id ... already exists in ..." */
static int id_taken(const sv_vm *vm, int rtfd)
{
	return sv_vm__id_taken(vm->id, rtfd, vm->host->opts->runtime_dir);
}

int sv_vm__id_taken(const char *id, int rtfd, const char *runtime_dir)
{
	int dfd = rtfd < 0 ? -1 : openat(rtfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	bool ended = dfd >= 0 && sv_vm__has_end_record(dfd);
	if (dfd >= 0)
		close(dfd);
	if (ended)
		return sv_err(SV_EEXISTS,
			      "id: the id \"%s\" is in use by an ended VM, kept until it is removed; remove it "
			      "first (smartvm rm %s)",
			      id, id);
	return sv_err(SV_EEXISTS, "id: a VM with id \"%s\" already exists in %s", id, runtime_dir);
}

/* Gives the directory tmp its final name id, failing if id exists. Without
 * RENAME_NOREPLACE (some filesystems), a plain rename, which replaces at
 * most an empty directory: never a VM's, which always holds its lock. */
static int claim_id(sv_vm *vm, int rtfd, const char *tmp)
{
	if (renameat2(rtfd, tmp, rtfd, vm->id, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno == EINVAL || errno == ENOSYS) {
		struct stat st;
		if (fstatat(rtfd, vm->id, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return id_taken(vm, rtfd);
		if (renameat(rtfd, tmp, rtfd, vm->id) == 0)
			return 0;
	}
	if (errno == EEXIST || errno == ENOTEMPTY || errno == ENOTDIR || errno == EISDIR)
		return id_taken(vm, rtfd);
	return sv_err_errno(SV_EIO, errno, "creating %s", vm->dir);
}

/* Creates <runtime_dir>/<id> (failing if it exists: the id claim) and takes
 * its lock; the lock is handed to the supervisor and marks the VM as alive.
 * The directory is made under a temporary dot name with its lock already
 * held, then renamed into place: nobody ever sees the VM's directory with its
 * lock free while it starts (gc would take it for a dead VM's leftovers). */
static int create_vm_dir(sv_vm *vm, int *lock_fd)
{
	const sv_manager_options *o = vm->host->opts;
	int rtfd = -1, dfd = -1, lfd = -1;
	int rc = sv_trusted_dir("runtime_dir", o->runtime_dir, 0700, &rtfd);
	if (rc)
		return rc;
	char tmp[128];
	snprintf(tmp, sizeof(tmp), ".%s" SV_VM_NEW_DIR_INFIX "%016llx", vm->id, sv_random_u64());
	if (mkdirat(rtfd, tmp, 0700) != 0) {
		rc = sv_err_errno(SV_EIO, errno, "creating %s/%s", o->runtime_dir, tmp);
		goto out;
	}
	dfd = openat(rtfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	lfd = dfd < 0
		  ? -1
		  : openat(dfd, SV_VM_LOCK_FILE, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) != 0) {
		rc = sv_err_errno(SV_EIO, errno, "creating the lock in %s/%s", o->runtime_dir, tmp);
	} else if ((rc = claim_id(vm, rtfd, tmp)) == 0) {
		vm->dir_fd = dfd;
		*lock_fd = lfd;
		dfd = lfd = -1;
	}
	if (rc) {
		if (dfd >= 0)
			unlinkat(dfd, SV_VM_LOCK_FILE, 0);
		unlinkat(rtfd, tmp, AT_REMOVEDIR);
	}
out:
	if (lfd >= 0)
		close(lfd);
	if (dfd >= 0)
		close(dfd);
	close(rtfd);
	return rc;
}

char *sv_vm__api_socket_path(const sv_vm *vm)
{
	return sv_path_join(vm->jail_root ? vm->jail_root : vm->dir, vm->backend->api_socket_name);
}

char *sv_vm__host_path(const sv_vm *vm, const char *vmm_path)
{
	if (vmm_path[0] != '/')
		return sv_path_join(vm->jail_root ? vm->jail_root : vm->dir, vmm_path);
	if (vm->jail_root)
		return sv_path_join(vm->jail_root, vmm_path + 1);
	return strdup(vmm_path);
}

int sv_vm__connect(sv_vm *vm)
{
	if (vm->vmm)
		return 0;
	char *socket_path = sv_vm__api_socket_path(vm);
	if (!socket_path)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = vm->backend->connect(&vm->vmm, socket_path, vm->host->opts->api_timeout_ms);
	free(socket_path);
	return rc;
}

void sv_vm__release_vmm(sv_vm *vm)
{
	if (vm->vmm && vm->backend->release)
		vm->backend->release(vm->vmm);
}

/* Firecracker opens (never creates) the logger and metrics files. They are
 * the user's outputs, so they are created here and left in place after. */
static int create_output_files(const sv_vm_config *cfg)
{
	const char *paths[] = {cfg->logger ? cfg->logger->log_path : NULL,
			       cfg->metrics ? cfg->metrics->metrics_path : NULL};
	for (size_t i = 0; i < 2; i++) {
		if (!paths[i])
			continue;
		int fd = open(paths[i], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0644);
		if (fd < 0)
			return sv_err_errno(SV_EIO, errno, "%s: creating %s",
					    i ? "metrics.metrics_path" : "logger.log_path", paths[i]);
		close(fd);
	}
	return 0;
}

static int boot(sv_vm *vm, int lock_fd, const sv_vm_restore *restore)
{
	const sv_manager_options *o = vm->host->opts;
	sv_ledger *ledger = NULL;
	char *binary = NULL, *accel = NULL;
	sv_trace_span step;
	sv_trace_begin(&step);
	int rc = SV_FAULT_POINT("launch.vm_dir");
	if (rc || (rc = sv_ledger_open_at(&ledger, vm->dir_fd, vm->dir)))
		goto out;
	/* No state.json yet: until the one written before the supervisor
	 * starts, the held lock alone says "configuring" (sv_vm__open_existing),
	 * and a crash before it reads as a start interrupted before its state
	 * was saved, which it is. */
	if ((rc = sv_vm__save_config(vm)))
		goto out;
	sv_trace_end(&step, "start:ledger+config+state_files");
	sv_trace_begin(&step);
	/* Before anything reads the bundle's files (staging copies them). */
	if ((rc = mark_base_image_in_use(vm)))
		goto out;
	if ((rc = sv_vm_config_copy(&vm->staged, vm->cfg)))
		goto out;
	if ((rc = sv_vm__pick_backend(vm, &binary, &accel)))
		goto out;
	if ((rc = sv_vm__command_apply(vm)) || (rc = sv_vm__agent_apply(vm)))
		goto out;
	if (restore)
		rc = sv_vm__restore_stage(vm, ledger, restore);
	else
		rc = sv_vm__stage_drives(vm, ledger, o->ephemeral_writable_drives != SV_NO);
	if (rc)
		goto out;
	sv_trace_end(&step, "start:config_copy+staging");
	if (vm->staged->n_network_interfaces) {
		/* Networking may append ip=; start from what the VMM would use. */
		if (!vm->staged->boot_source.boot_args && vm->backend->default_boot_args &&
		    !(vm->staged->boot_source.boot_args = strdup(vm->backend->default_boot_args))) {
			rc = sv_err(SV_ENOMEM, "out of memory");
			goto out;
		}
		vm->taps = calloc(vm->staged->n_network_interfaces, sizeof(*vm->taps));
		if (!vm->taps) {
			rc = sv_err(SV_ENOMEM, "out of memory");
			goto out;
		}
		vm->n_taps = vm->staged->n_network_interfaces;
		sv_trace_begin(&step);
		rc = sv_vm_net_setup(o, o->data_dir, vm->id, ledger, vm->staged, vm->taps);
		if (rc)
			goto out;
		sv_trace_end(&step, "start:network");
	}
	sv_trace_begin(&step);
	if ((rc = create_output_files(vm->staged)))
		goto out;
	if (vm->jail && (rc = sv_vm__jail_prepare(vm, ledger)))
		goto out;
	if ((rc = sv_vm__save_state(vm)))
		goto out;
	sv_trace_end(&step, "start:output_files+state_file");
	/* The ledger is complete for everything this process creates; the
	 * supervisor appends the VMM's pid itself. */
	sv_ledger_close(ledger);
	ledger = NULL;
	if ((rc = sv_vm__agent_record(vm)) || (rc = sv_vm__launch(vm, binary, accel, lock_fd, o->socket_timeout_ms)))
		goto out;
	sv_trace_begin(&step);
	if ((rc = sv_vm__connect(vm)))
		goto out;
	if (restore) {
		rc = sv_vm__restore_load(vm, restore);
		sv_trace_end(&step, "start:api_snapshot_load");
		goto out;
	}
	if (vm->booting_from_file) {
		if (!(rc = SV_FAULT_POINT("launch.instance_start")) && !(rc = vm->backend->boot_wait(vm->vmm)))
			vm->booting_from_file = false;
		sv_trace_end(&step, "start:api_boot_wait");
		goto out;
	}
	if ((rc = vm->backend->configure(vm->vmm, vm->staged)) ||
	    (rc = SV_FAULT_POINT("launch.instance_start")))
		goto out;
	sv_trace_end(&step, "start:api_configure");
	sv_trace_begin(&step);
	rc = vm->backend->start(vm->vmm);
	sv_trace_end(&step, "start:api_instance_start");
out:
	sv_vm__release_vmm(vm);
	sv_ledger_close(ledger);
	free(binary);
	free(accel);
	return rc;
}

int sv_vm_start(sv_vm *vm) { return sv_vm__boot(vm, NULL); }

/* A start step failed for want of the VMM (its API connection closed or
 * refused): is it exiting by itself? Then its supervisor's report, with the
 * VMM's own last words, says why (in vm->end_reason). */
static bool vmm_ended_by_itself(sv_vm *vm, int rc)
{
	if ((rc != SV_EPROCESS && rc != SV_EIO) || vm->supervisor_pid <= 0 || vm->vmm_pid <= 0 ||
	    vm->end_reason)
		return false;
	int pidfd = -1;
	if (vm->vmm_pid > 0 && sv_process_alive(vm->vmm_pid, vm->vmm_start_time))
		pidfd = (int)syscall(SYS_pidfd_open, vm->vmm_pid, 0);
	bool exited = pidfd < 0 || sv_pidfd_wait_exit(pidfd, VMM_EXIT_WAIT_MS) == 0;
	if (pidfd >= 0)
		close(pidfd);
	return exited && sv_vm__poll_supervisor(vm, VMM_REPORT_WAIT_MS) == 1;
}

int sv_vm__boot(sv_vm *vm, const sv_vm_restore *restore)
{
	const char *what = restore ? "restoring" : "starting";
	sv_err_clear();
	int rc = require_state(vm, restore ? "restore" : "start", ST(SV_VM_CREATED));
	if (rc)
		return rc;
	if (!restore && (rc = sv_vm_config_validate(vm->cfg)))
		return sv_err_prefix("%s VM \"%s\"", what, vm->id);
	int lock_fd = -1;
	sv_trace_span step;
	sv_trace_begin(&step);
	if ((rc = create_vm_dir(vm, &lock_fd)))
		return sv_err_prefix("%s VM \"%s\"", what, vm->id);
	sv_trace_end(&step, "start:vm_dir+lock");
	vm->state = SV_VM_CONFIGURING;
	rc = boot(vm, lock_fd, restore);
	if (rc == 0)
		rc = SV_FAULT_POINT("launch.started");
	if (rc == 0) {
		close(lock_fd); /* the supervisor holds it now */
		vm->state = restore && !sv_vm__restore_resumes(restore) ? SV_VM_PAUSED : SV_VM_RUNNING;
		sv_trace_begin(&step);
		if (sv_vm__save_state(vm) == 0) {
			sv_trace_end(&step, "start:state_file_running");
			return 0;
		}
		lock_fd = -1;
	}
	/* Undo everything: the VMM (if launched) and every ledger entry. Our
	 * copy of the lock is kept until then, so that no gc joins in. */
	sv_err_saved saved;
	sv_err_save(&saved);
	bool vmm_ended = vmm_ended_by_itself(vm, rc);
	if ((vm->supervisor_pid > 0 || vm->status_fd >= 0) && !vmm_ended)
		sv_vm__terminate(vm, false, 0);
	sv_vm__cleanup_dir(vm->dir);
	if (lock_fd >= 0)
		close(lock_fd);
	vm->state = SV_VM_ERROR;
	if (vmm_ended && vm->end_reason && *vm->end_reason && saved.message && vm->booting_from_file) {
		/* Not the request's transport error: a refused config file ends
		 * the VMM, and its last words name the section. */
		sv_err(SV_EPROCESS, "%s ended while booting from its config file; %s", vm->backend->name,
		       vm->end_reason);
		free(saved.message);
	} else if (vmm_ended && vm->end_reason && *vm->end_reason && saved.message) {
		sv_err(saved.code, "%s; %s", saved.message, vm->end_reason);
		free(saved.message);
	} else {
		sv_err_restore(&saved);
	}
	return sv_err_prefix("%s VM \"%s\"", what, vm->id);
}

/* Notices a VMM that ended on its own since the last call. */
void sv_vm__refresh(sv_vm *vm)
{
	if (sv_vm__is_live(vm) && vm->state != SV_VM_CONFIGURING)
		sv_vm__poll_supervisor(vm, 0);
}

sv_vm_state sv_vm_get_state(sv_vm *vm)
{
	sv_vm__refresh(vm);
	return vm->state;
}

static int end_vm(sv_vm *vm, const char *action, bool graceful, int timeout_ms)
{
	sv_err_clear();
	sv_vm__refresh(vm);
	/* Also a VM in error (its supervisor gone, or its start failed) and,
	 * for kill, one still configuring: what is left of it is ended too. */
	unsigned allowed = ST(SV_VM_RUNNING) | ST(SV_VM_PAUSED) | ST(SV_VM_ERROR) |
			   (graceful ? 0 : ST(SV_VM_CONFIGURING));
	int rc = require_state(vm, action, allowed);
	if (rc)
		return rc;
	if (vm->state == SV_VM_ERROR || vm->state == SV_VM_CONFIGURING)
		graceful = false;
	if (graceful && sv_vm__connect(vm) != 0)
		graceful = false; /* no API: go straight to signals */
	rc = sv_vm__terminate(vm, graceful, timeout_ms);
	sv_err_saved saved;
	sv_err_save(&saved);
	sv_trace_span step;
	sv_trace_begin(&step);
	/* The supervisor has ended and cleaned up, or died: then whatever it
	 * left, if the directory is still this VM's (a gc may have removed it
	 * and a new VM taken the id since). */
	int crc = SV_FAULT_POINT("stop.cleanup");
	if (!crc && vm->dir_fd >= 0 && (crc = sv_vm__cleanup_if_dead(vm->dir_fd, vm->dir)) > 0)
		crc = 0;
	sv_trace_end(&step, "stop:leftovers_check");
	vm->state = SV_VM_STOPPED;
	if (rc) {
		sv_err_restore(&saved);
		return sv_err_prefix("%s VM \"%s\"", action, vm->id);
	}
	free(saved.message);
	return crc ? sv_err_prefix("%s VM \"%s\"", action, vm->id) : 0;
}

int sv_vm_stop(sv_vm *vm, int timeout_ms)
{
	if (timeout_ms < 0)
		timeout_ms = vm->host->opts->stop_timeout_ms;
	return end_vm(vm, "stop", true, timeout_ms);
}

int sv_vm_kill(sv_vm *vm) { return end_vm(vm, "kill", false, 0); }

int sv_vm_detach(sv_vm *vm)
{
	sv_err_clear();
	sv_vm__refresh(vm);
	int rc = require_state(vm, "detach", ST(SV_VM_RUNNING) | ST(SV_VM_PAUSED));
	if (rc)
		return rc;
	if (vm->control_fd >= 0) {
		if (write(vm->control_fd, "D", 1) != 1)
			return sv_err_errno(SV_EPROCESS, errno, "detaching VM \"%s\": telling its supervisor",
					    vm->id);
		close(vm->control_fd);
		vm->control_fd = -1;
	}
	vm->detached = true;
	return sv_vm__save_state(vm);
}

int sv_vm_wait(sv_vm *vm, int timeout_ms)
{
	sv_err_clear();
	if (!sv_vm__is_live(vm))
		return 0;
	int ended = sv_vm__poll_supervisor(vm, timeout_ms);
	if (ended < 0)
		return ended;
	if (!ended)
		return sv_err(SV_ETIMEOUT, "VM \"%s\" still running after %d ms", vm->id, timeout_ms);
	return 0;
}

static int query(sv_vm *vm, const char *action, int (*op)(sv_vmm *, char **), char **out)
{
	sv_err_clear();
	*out = NULL;
	sv_vm__refresh(vm);
	int rc = require_state(vm, action, ST(SV_VM_RUNNING) | ST(SV_VM_PAUSED));
	if (rc)
		return rc;
	if (!(rc = sv_vm__connect(vm)))
		rc = op(vm->vmm, out);
	sv_vm__release_vmm(vm);
	return rc ? sv_err_prefix("%s of VM \"%s\"", action, vm->id) : 0;
}

static int do_info(sv_vmm *v, char **out) { return v->ops->instance_info(v, out); }
static int do_config(sv_vmm *v, char **out) { return v->ops->running_config(v, out); }

int sv_vm_instance_info(sv_vm *vm, char **out) { return query(vm, "instance info", do_info, out); }
int sv_vm_running_config(sv_vm *vm, char **out) { return query(vm, "running config", do_config, out); }
