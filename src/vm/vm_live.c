/* Live operations on a running (or paused) VM: pause and resume, the MMDS
 * data store, the balloon, hot updates of drives and interfaces (see
 * include/smartvm/live.h and vm.h). Metrics are vm_metrics.c's.
 *
 * Each call takes the same path: clear the error, notice a VMM that died,
 * check the state, check that the backend has the operation (a NULL op is
 * "not supported by the <name> backend"), connect, call, and prefix any error
 * with the VM and the operation.
 *
 * Invariants:
 *   - one live operation that changes the VM at a time, across processes: a
 *     flock on <vm dir>/live.lock, waited for at most the manager's API
 *     timeout, else SV_EBUSY naming the operation that holds it (a pause
 *     can no longer land in the middle of a snapshot and be undone by it);
 *   - state.json never disagrees with the VMM: the new state is written
 *     before the VMM is asked (a full runtime directory refuses the pause
 *     instead of leaving a paused VM that state.json calls running), and
 *     pause/resume ask the VMM for its state first, so an earlier
 *     disagreement heals instead of blocking them;
 *   - a new drive backing file follows the rules of a boot: the path is
 *     checked as drives[].path_on_host is, a writable drive gets a private
 *     staged copy (the caller's file is never written), and the config that
 *     inspect shows (config.json) names the new file. */
#include "vm/vm_internal.h"

#include "config/config_internal.h"
#include "util/error.h"
#include "util/file.h"
#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIVE_STATES ((1u << SV_VM_RUNNING) | (1u << SV_VM_PAUSED))
#define LIVE_LOCK_FILE "live.lock"
#define LOCK_HOLDER_MAX 64

/* ---- one live operation at a time ---- */

int sv_vm__live_lock(sv_vm *vm, const char *what, int *fd_out)
{
	*fd_out = -1;
	char *path = sv_path_join(vm->dir, LIVE_LOCK_FILE);
	if (!path)
		return sv_err(SV_ENOMEM, "out of memory");
	int wait_ms = vm->host->opts->api_timeout_ms;
	int rc = sv_lock_file(path, wait_ms, fd_out);
	if (rc == SV_ETIMEOUT) {
		char *holder = NULL;
		if (sv_read_file(path, LOCK_HOLDER_MAX, &holder, NULL) != 0 || !*holder) {
			free(holder);
			holder = strdup("another live operation");
		}
		rc = sv_err(
		    SV_EBUSY,
		    "VM \"%s\": %s: busy: %s is in progress on this VM (waited %d ms); try again when it "
		    "has finished",
		    vm->id, what, holder ? holder : "another live operation", wait_ms);
		free(holder);
	} else if (rc) {
		sv_err_prefix("VM \"%s\": %s", vm->id, what);
	} else if (ftruncate(*fd_out, 0) == 0) {
		/* Only names the holder in a busy message: not worth failing for. */
		ssize_t n = pwrite(*fd_out, what, strlen(what), 0);
		(void)n;
	}
	free(path);
	return rc;
}

void sv_vm__live_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* ---- the VM's state, as the VMM sees it ---- */

void sv_vm__reconcile_state(sv_vm *vm)
{
	if (!vm->vmm || !vm->backend->instance_info ||
	    (vm->state != SV_VM_RUNNING && vm->state != SV_VM_PAUSED))
		return;
	sv_err_saved saved;
	sv_err_save(&saved);
	char *text = NULL;
	if (vm->backend->instance_info(vm->vmm, &text) == 0) {
		json_t *o = json_loads(text, 0, NULL);
		const char *s = json_string_value(json_object_get(o, "state"));
		sv_vm_state actual = vm->state;
		if (s && !strcmp(s, "Paused"))
			actual = SV_VM_PAUSED;
		else if (s && !strcmp(s, "Running"))
			actual = SV_VM_RUNNING;
		if (actual != vm->state) {
			vm->state = actual;
			sv_vm__save_state(vm); /* best effort: the VMM's answer is what we act on */
		}
		json_decref(o);
	}
	free(text);
	sv_err_restore(&saved);
}

int sv_vm__change_vmm_state(sv_vm *vm, sv_vm_state to, int (*op)(sv_vmm *))
{
	sv_vm_state from = vm->state;
	vm->state = to;
	int rc = sv_vm__save_state(vm);
	if (rc) {
		vm->state = from;
		return rc;
	}
	if ((rc = op(vm->vmm))) {
		sv_err_saved saved;
		sv_err_save(&saved);
		vm->state = from;
		if (sv_vm__save_state(vm) == 0)
			sv_vm__reconcile_state(vm); /* it may have changed anyway (a timeout) */
		sv_err_restore(&saved);
	}
	return rc;
}

static int do_pause(sv_vmm *v) { return v->ops->pause(v); }
static int do_resume(sv_vmm *v) { return v->ops->resume(v); }

static int set_running_state(sv_vm *vm, const char *action, sv_vm_state from, sv_vm_state to,
			     int (*op)(sv_vmm *))
{
	sv_err_clear();
	sv_vm__refresh(vm);
	if (vm->state != SV_VM_RUNNING && vm->state != SV_VM_PAUSED)
		return sv_vm__require_state(vm, action, 1u << from);
	int lock = -1;
	int rc = sv_vm__live_lock(vm, action, &lock);
	if (rc)
		return rc;
	if ((rc = sv_vm__connect(vm)))
		goto out;
	sv_vm__reconcile_state(vm);
	if ((rc = sv_vm__require_state(vm, action, 1u << from))) {
		sv_vm__release_vmm(vm);
		sv_vm__live_unlock(lock);
		return rc;
	}
	rc = sv_vm__change_vmm_state(vm, to, op);
out:
	sv_vm__release_vmm(vm);
	sv_vm__live_unlock(lock);
	return rc ? sv_err_prefix("%s VM \"%s\"", action, vm->id) : 0;
}

int sv_vm_pause(sv_vm *vm) { return set_running_state(vm, "pause", SV_VM_RUNNING, SV_VM_PAUSED, do_pause); }
int sv_vm_resume(sv_vm *vm)
{
	return set_running_state(vm, "resume", SV_VM_PAUSED, SV_VM_RUNNING, do_resume);
}

/* ---- the common path ---- */

/* The preamble; op is the backend's member (NULL = unsupported). With
 * lock_out, the operation changes the VM and takes the live lock. */
static int live_begin(sv_vm *vm, const char *what, const void *op, int *lock_out)
{
	sv_err_clear();
	if (lock_out)
		*lock_out = -1;
	sv_vm__refresh(vm);
	int rc = sv_vm__require_state(vm, what, LIVE_STATES);
	if (rc)
		return rc;
	if (!vm->backend || !op)
		return sv_err(SV_EUNSUPPORTED, "VM \"%s\": %s: not supported by the %s backend", vm->id, what,
			      vm->backend ? vm->backend->name : "unknown");
	if (lock_out && (rc = sv_vm__live_lock(vm, what, lock_out)))
		return rc;
	if ((rc = sv_vm__connect(vm))) {
		if (lock_out)
			sv_vm__live_unlock(*lock_out);
		return sv_err_prefix("VM \"%s\": %s", vm->id, what);
	}
	return 0;
}

static int live_end(sv_vm *vm, const char *what, int rc, int lock)
{
	sv_vm__release_vmm(vm);
	sv_vm__live_unlock(lock);
	return rc ? sv_err_prefix("VM \"%s\": %s", vm->id, what) : 0;
}

/* ---- MMDS ---- */

/* The marker lives in the VM directory, reached through its checked fd. */
static bool marker_exists(const sv_vm *vm)
{
	struct stat st;
	return vm->dir_fd >= 0 && fstatat(vm->dir_fd, SV_VM_MMDS_MARKER, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(st.st_mode);
}

static int mmds_write(sv_vm *vm, const char *what, int (*op)(sv_vmm *, const char *), const char *json)
{
	int lock = -1;
	int rc = live_begin(vm, what, op, &lock);
	if (rc)
		return rc;
	if (!vm->cfg || !vm->cfg->mmds) {
		sv_vm__live_unlock(lock);
		return sv_err(SV_EINVALID_STATE, "VM \"%s\": %s: the VM has no MMDS (configure mmds at boot)",
			      vm->id, what);
	}
	if ((rc = op(vm->vmm, json)))
		return live_end(vm, what, rc, lock);
	/* Firecracker answers "{}" for a store nobody initialised; the marker
	 * lets mmds get tell that apart from data that is "{}". */
	rc = sv_write_file_atomic_at(vm->dir_fd, vm->dir, SV_VM_MMDS_MARKER, "", 0, 0600);
	return live_end(vm, what, rc, lock);
}

int sv_vm_mmds_put(sv_vm *vm, const char *json)
{
	return mmds_write(vm, "MMDS put", vm->backend ? vm->backend->mmds_put : NULL, json);
}

int sv_vm_mmds_patch(sv_vm *vm, const char *json)
{
	return mmds_write(vm, "MMDS patch", vm->backend ? vm->backend->mmds_patch : NULL, json);
}

int sv_vm_mmds_get(sv_vm *vm, char **out)
{
	*out = NULL;
	int rc = live_begin(vm, "MMDS get", vm->backend ? vm->backend->mmds_get : NULL, NULL);
	if (rc)
		return rc;
	if (!marker_exists(vm))
		return sv_err(SV_ENOTFOUND,
			      "VM \"%s\": MMDS get: the data store is empty (nothing was put yet)", vm->id);
	return live_end(vm, "MMDS get", vm->backend->mmds_get(vm->vmm, out), -1);
}

/* ---- balloon ---- */

int sv_vm_balloon_set(sv_vm *vm, uint32_t amount_mib)
{
	int lock = -1;
	int rc = live_begin(vm, "balloon set", vm->backend ? vm->backend->balloon_set : NULL, &lock);
	return rc ? rc : live_end(vm, "balloon set", vm->backend->balloon_set(vm->vmm, amount_mib), lock);
}

int sv_vm_balloon_set_stats_interval(sv_vm *vm, uint32_t seconds)
{
	const char *what = "balloon statistics interval";
	int lock = -1;
	int rc = live_begin(vm, what, vm->backend ? vm->backend->balloon_stats_interval : NULL, &lock);
	return rc ? rc : live_end(vm, what, vm->backend->balloon_stats_interval(vm->vmm, seconds), lock);
}

int sv_vm_balloon_hinting_start(sv_vm *vm, bool acknowledge_on_stop)
{
	const char *what = "balloon hinting start";
	int lock;
	int rc = live_begin(vm, what, vm->backend ? vm->backend->balloon_hinting_start : NULL, &lock);
	return rc ? rc : live_end(vm, what, vm->backend->balloon_hinting_start(vm->vmm, acknowledge_on_stop), lock);
}

int sv_vm_balloon_hinting_stop(sv_vm *vm)
{
	const char *what = "balloon hinting stop";
	int lock;
	int rc = live_begin(vm, what, vm->backend ? vm->backend->balloon_hinting_stop : NULL, &lock);
	return rc ? rc : live_end(vm, what, vm->backend->balloon_hinting_stop(vm->vmm), lock);
}

int sv_vm_balloon_hinting_status(sv_vm *vm, char **out)
{
	*out = NULL;
	const char *what = "balloon hinting status";
	int rc = live_begin(vm, what, vm->backend ? vm->backend->balloon_hinting_status : NULL, NULL);
	return rc ? rc : live_end(vm, what, vm->backend->balloon_hinting_status(vm->vmm, out), -1);
}

/* ---- memory hotplug ---- */

int sv_vm_memory_hotplug_set(sv_vm *vm, uint32_t requested_size_mib)
{
	const char *what = "memory hotplug set";
	int lock;
	int rc = live_begin(vm, what, vm->backend ? vm->backend->memory_hotplug_set : NULL, &lock);
	return rc ? rc : live_end(vm, what, vm->backend->memory_hotplug_set(vm->vmm, requested_size_mib), lock);
}

int sv_vm_memory_hotplug_status(sv_vm *vm, char **out)
{
	*out = NULL;
	const char *what = "memory hotplug status";
	int rc = live_begin(vm, what, vm->backend ? vm->backend->memory_hotplug_status : NULL, NULL);
	return rc ? rc : live_end(vm, what, vm->backend->memory_hotplug_status(vm->vmm, out), -1);
}

int sv_vm_balloon_stats(sv_vm *vm, char **out)
{
	*out = NULL;
	int rc = live_begin(vm, "balloon statistics", vm->backend ? vm->backend->balloon_stats : NULL, NULL);
	return rc ? rc : live_end(vm, "balloon statistics", vm->backend->balloon_stats(vm->vmm, out), -1);
}

/* ---- hot updates ---- */

/* The rules of drives[].path_on_host at boot (config_validate.c): the file
 * exists and is a regular file or a block device. Relative paths are the
 * caller's (its working directory); abs_out is absolute, malloc'd. */
static int check_drive_path(const char *drive_id, const char *path, char **abs_out)
{
	*abs_out = NULL;
	if (!*path)
		return sv_err(SV_EINVAL, "drive \"%s\": path: must not be empty", drive_id);
	char *abs = NULL;
	if (path[0] == '/') {
		abs = strdup(path);
	} else {
		char *cwd = getcwd(NULL, 0);
		abs = cwd ? sv_path_join(cwd, path) : NULL;
		free(cwd);
	}
	if (!abs)
		return sv_err(SV_ENOMEM, "out of memory");
	struct stat st;
	int rc = 0;
	if (stat(abs, &st) != 0)
		rc = errno == ENOENT || errno == ENOTDIR
			 ? sv_err(SV_ENOTFOUND, "drive \"%s\": path: %s: no such file", drive_id, path)
			 : sv_err_errno(SV_EINVAL, errno, "drive \"%s\": path: %s", drive_id, path);
	else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		rc = sv_err(SV_EINVAL, "drive \"%s\": path: %s: not a regular file or block device", drive_id,
			    path);
	if (rc) {
		free(abs);
		return rc;
	}
	*abs_out = abs;
	return 0;
}

sv_drive_config *sv_vm__config_drive(const sv_vm_config *cfg, const char *drive_id)
{
	for (size_t i = 0; cfg && i < cfg->n_drives; i++)
		if (cfg->drives[i].drive_id && !strcmp(cfg->drives[i].drive_id, drive_id))
			return (sv_drive_config *)&cfg->drives[i];
	return NULL;
}

/* The drive's backing file as the VMM has it now (GET its running config). */
static char *vmm_drive_path(sv_vm *vm, const char *drive_id)
{
	char *text = NULL, *path = NULL;
	if (!vm->backend->running_config || vm->backend->running_config(vm->vmm, &text) != 0) {
		sv_err_clear();
		return NULL;
	}
	json_t *c = json_loads(text, 0, NULL), *d;
	size_t i;
	json_array_foreach(json_object_get(c, "drives"), i, d)
	{
		const char *id = json_string_value(json_object_get(d, "drive_id"));
		const char *p = json_string_value(json_object_get(d, "path_on_host"));
		if (id && p && !strcmp(id, drive_id))
			path = strdup(p);
	}
	json_decref(c);
	free(text);
	return path;
}

/* The new file as the VMM will see it. */
typedef struct {
	char *vmm_path; /* what the VMM is given */
	char *staged;	/* our private copy in the VM dir, or NULL */
	char *jailed;	/* its name in the jail's drives/, or NULL */
} new_backing;

/* "<drive id>-<8 hex>": a name no other backing file of the VM has. */
static int fresh_name(const char *drive_id, char **out)
{
	unsigned char r[4];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return sv_err_errno(SV_EIO, errno, "getrandom");
	if (asprintf(out, "%s-%02x%02x%02x%02x", drive_id, r[0], r[1], r[2], r[3]) < 0) {
		*out = NULL;
		return sv_err(SV_ENOMEM, "out of memory");
	}
	return 0;
}

/* The staging rules of a boot (vm_stage.c) for the new file abs of drive d. */
static int stage_new_backing(sv_vm *vm, const sv_drive_config *d, const char *abs, new_backing *n)
{
	bool stage = sv_vm__should_stage(d, vm->host->opts->ephemeral_writable_drives != SV_NO);
	if (!stage && !d->is_read_only && vm->jail_root)
		return sv_err(SV_EUNSUPPORTED,
			      "drive \"%s\": the VMM would write %s in place (ephemeral = no), which "
			      "the jail's uid does not own; jailed VMs need writable drives staged",
			      d->drive_id, abs);
	char *name = NULL;
	int rc = fresh_name(d->drive_id, &name);
	if (rc)
		return rc;
	if (stage) {
		char *dir = sv_path_join(vm->dir, SV_VM_DRIVES_DIR);
		sv_ledger *ledger = NULL;
		n->staged = dir ? sv_path_join(dir, name) : NULL;
		rc = n->staged ? sv_mkdir_p(dir, 0700) : sv_err(SV_ENOMEM, "out of memory");
		if (!rc && !(rc = sv_ledger_open(&ledger, vm->dir)))
			rc = sv_ledger_record(ledger, "file", n->staged, NULL);
		sv_ledger_close(ledger);
		if (!rc && (rc = sv_copy_sparse(abs, n->staged))) {
			free(n->staged);
			n->staged = NULL;
		}
		if (!rc && !vm->jail_root && asprintf(&n->vmm_path, "%s/%s", SV_VM_DRIVES_DIR, name) < 0)
			rc = sv_err(SV_ENOMEM, "out of memory");
		free(dir);
		if (rc)
			sv_err_prefix("staging drive \"%s\"", d->drive_id);
	} else if (!vm->jail_root) {
		n->vmm_path = strdup(abs); /* read-only, or ephemeral = no: as at boot, the file itself */
		rc = n->vmm_path ? 0 : sv_err(SV_ENOMEM, "out of memory");
	}
	if (!rc && vm->jail_root) {
		rc = sv_vm__jail_add_drive(vm, stage ? n->staged : abs, name, stage, &n->vmm_path);
		if (!rc)
			n->jailed = name, name = NULL;
	}
	free(name);
	return rc;
}

/* After the VMM switched: the previous private copy (ours) goes. */
static void drop_old_backing(sv_vm *vm, const char *old)
{
	const char *prefix = vm->jail_root ? "/" SV_VM_DRIVES_DIR "/" : SV_VM_DRIVES_DIR "/";
	if (!old || strncmp(old, prefix, strlen(prefix)) || strchr(old + strlen(prefix), '/'))
		return; /* the caller's file, used in place */
	const char *name = old + strlen(prefix);
	char *dir = sv_path_join(vm->dir, SV_VM_DRIVES_DIR);
	int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
	if (fd >= 0 && unlinkat(fd, name, 0) != 0 && errno != ENOENT)
		sv_err_clear();
	if (fd >= 0)
		close(fd);
	free(dir);
	if (vm->jail_root)
		sv_vm__jail_remove_drive(vm, name);
	sv_err_clear();
}

/* The config inspect shows (and a later process loads) names the new file. */
static int record_update(sv_vm *vm, sv_drive_config *d, const char *abs, const sv_rate_limiter *rl,
			 const char *vmm_path)
{
	int rc = 0;
	if ((abs && (rc = sv_config_replace_string(&d->path_on_host, abs))) ||
	    (rl && (rc = sv_config_replace_rate_limiter(&d->rate_limiter, rl))))
		return rc;
	sv_drive_config *s = sv_vm__config_drive(vm->staged, d->drive_id);
	if (s && vmm_path && (rc = sv_config_replace_string(&s->path_on_host, vmm_path)))
		return rc;
	char *path = sv_path_join(vm->dir, SV_VM_CONFIG_FILE);
	rc = path ? sv_vm_config_save(vm->cfg, path) : sv_err(SV_ENOMEM, "out of memory");
	free(path);
	return rc;
}

int sv_vm_drive_update(sv_vm *vm, const char *drive_id, const char *path, const sv_rate_limiter *rl)
{
	const char *what = "drive update";
	int lock = -1;
	int rc = live_begin(vm, what, vm->backend ? vm->backend->drive_update : NULL, &lock);
	if (rc)
		return rc;
	sv_drive_config *d = drive_id && *drive_id ? sv_vm__config_drive(vm->cfg, drive_id) : NULL;
	char *abs = NULL, *old = NULL;
	new_backing n = {0};
	if (!drive_id || !*drive_id)
		rc = sv_err(SV_EINVAL, "drive_id: required");
	else if (!path && !rl)
		rc = sv_err(SV_EINVAL, "give a new path, a rate limiter or both");
	else if (!d)
		rc = sv_err(SV_ENOTFOUND, "drive \"%s\": the VM has no such drive", drive_id);
	else if (path && !(rc = check_drive_path(drive_id, path, &abs)))
		rc = stage_new_backing(vm, d, abs, &n);
	if (!rc && path)
		old = vmm_drive_path(vm, drive_id);
	if (!rc)
		rc = vm->backend->drive_update(vm->vmm, drive_id, n.vmm_path, rl);
	if (rc) { /* the VMM keeps the old file: the new copies go */
		sv_err_saved saved;
		sv_err_save(&saved);
		if (n.staged)
			unlink(n.staged);
		if (n.jailed)
			sv_vm__jail_remove_drive(vm, n.jailed);
		sv_err_restore(&saved);
	} else {
		if (path)
			drop_old_backing(vm, old);
		rc = record_update(vm, d, abs, rl, n.vmm_path);
	}
	free(n.vmm_path);
	free(n.staged);
	free(n.jailed);
	free(abs);
	free(old);
	return live_end(vm, what, rc, lock);
}

static sv_pmem_config *config_pmem(const sv_vm_config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->n_pmem; i++)
		if (!strcmp(cfg->pmem[i].id, id))
			return (sv_pmem_config *)(uintptr_t)&cfg->pmem[i];
	return NULL;
}

int sv_vm_pmem_update(sv_vm *vm, const char *pmem_id, const sv_rate_limiter *rl)
{
	const char *what = "pmem update";
	int lock = -1;
	int rc = live_begin(vm, what, vm->backend ? vm->backend->pmem_update : NULL, &lock);
	if (rc)
		return rc;
	sv_pmem_config *p = pmem_id && *pmem_id ? config_pmem(vm->cfg, pmem_id) : NULL;
	if (!pmem_id || !*pmem_id)
		rc = sv_err(SV_EINVAL, "pmem_id: required");
	else if (!rl)
		rc = sv_err(SV_EINVAL, "give a rate limiter");
	else if (!p)
		rc = sv_err(SV_ENOTFOUND, "pmem \"%s\": the VM has no such pmem device", pmem_id);
	else
		rc = vm->backend->pmem_update(vm->vmm, pmem_id, rl);
	/* The VM's config (inspect, config.json) shows the limiter in force. */
	if (!rc && !(rc = sv_config_replace_rate_limiter(&p->rate_limiter, rl))) {
		char *path = sv_path_join(vm->dir, SV_VM_CONFIG_FILE);
		rc = path ? sv_vm_config_save(vm->cfg, path) : sv_err(SV_ENOMEM, "out of memory");
		free(path);
	}
	return live_end(vm, what, rc, lock);
}

int sv_vm_net_iface_update(sv_vm *vm, const char *iface_id, const sv_rate_limiter *rx,
			   const sv_rate_limiter *tx)
{
	const char *what = "network interface update";
	int lock = -1;
	int rc = live_begin(vm, what, vm->backend ? vm->backend->iface_update : NULL, &lock);
	if (rc)
		return rc;
	if (!iface_id || !*iface_id)
		rc = sv_err(SV_EINVAL, "iface_id: required");
	else if (!rx && !tx)
		rc = sv_err(SV_EINVAL, "give an rx or a tx rate limiter");
	else
		rc = vm->backend->iface_update(vm->vmm, iface_id, rx, tx);
	return live_end(vm, what, rc, lock);
}
