/* Live operations on a running (or paused) VM: the MMDS data store, the
 * balloon, hot updates of drives and interfaces, and metrics (see
 * include/smartvm/live.h).
 *
 * Each call takes the same path: clear the error, notice a VMM that died,
 * check the state, check that the backend has the operation (a NULL op is
 * "not supported by the <name> backend"), connect, call, and prefix any error
 * with the VM and the operation. Nothing here changes the VM's state or its
 * ledger; the only file written is the MMDS marker in the VM directory. */
#include "vm/vm_internal.h"
#include "vm/vm_metrics_parse.h"

#include "util/error.h"
#include "util/file.h"
#include "util/spawn.h"
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIVE_STATES ((1u << SV_VM_RUNNING) | (1u << SV_VM_PAUSED))
#define MAX_METRICS_BYTES (64u << 20)

/* The common preamble; op is the backend's member (NULL = unsupported). */
static int live_begin(sv_vm *vm, const char *what, const void *op)
{
	sv_err_clear();
	sv_vm__refresh(vm);
	int rc = sv_vm__require_state(vm, what, LIVE_STATES);
	if (rc)
		return rc;
	if (!vm->backend || !op)
		return sv_err(SV_EUNSUPPORTED, "VM \"%s\": %s: not supported by the %s backend", vm->id, what,
			      vm->backend ? vm->backend->name : "unknown");
	if ((rc = sv_vm__connect(vm)))
		return sv_err_prefix("VM \"%s\": %s", vm->id, what);
	return 0;
}

static int live_end(sv_vm *vm, const char *what, int rc)
{
	return rc ? sv_err_prefix("VM \"%s\": %s", vm->id, what) : 0;
}

/* ---- MMDS ---- */

static char *marker_path(const sv_vm *vm)
{
	return sv_path_join(vm->dir, SV_VM_MMDS_MARKER);
}

static int mmds_write(sv_vm *vm, const char *what, int (*op)(sv_vmm *, const char *), const char *json)
{
	int rc = live_begin(vm, what, op);
	if (rc)
		return rc;
	if (!vm->cfg || !vm->cfg->mmds)
		return sv_err(SV_EINVALID_STATE, "VM \"%s\": %s: the VM has no MMDS (configure mmds at boot)", vm->id,
			      what);
	if ((rc = op(vm->vmm, json)))
		return live_end(vm, what, rc);
	/* Firecracker answers "{}" for a store nobody initialised; the marker
	 * lets mmds get tell that apart from data that is "{}". */
	char *marker = marker_path(vm);
	rc = marker ? sv_write_file_atomic(marker, "", 0, 0600) : sv_err(SV_ENOMEM, "out of memory");
	free(marker);
	return live_end(vm, what, rc);
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
	int rc = live_begin(vm, "MMDS get", vm->backend ? vm->backend->mmds_get : NULL);
	if (rc)
		return rc;
	char *marker = marker_path(vm);
	bool put = marker && sv_path_exists(marker);
	free(marker);
	if (!put)
		return sv_err(SV_ENOTFOUND, "VM \"%s\": MMDS get: the data store is empty (nothing was put yet)", vm->id);
	return live_end(vm, "MMDS get", vm->backend->mmds_get(vm->vmm, out));
}

/* ---- balloon ---- */

int sv_vm_balloon_set(sv_vm *vm, uint32_t amount_mib)
{
	int rc = live_begin(vm, "balloon set", vm->backend ? vm->backend->balloon_set : NULL);
	return rc ? rc : live_end(vm, "balloon set", vm->backend->balloon_set(vm->vmm, amount_mib));
}

int sv_vm_balloon_set_stats_interval(sv_vm *vm, uint32_t seconds)
{
	const char *what = "balloon statistics interval";
	int rc = live_begin(vm, what, vm->backend ? vm->backend->balloon_stats_interval : NULL);
	return rc ? rc : live_end(vm, what, vm->backend->balloon_stats_interval(vm->vmm, seconds));
}

int sv_vm_balloon_stats(sv_vm *vm, char **out)
{
	*out = NULL;
	int rc = live_begin(vm, "balloon statistics", vm->backend ? vm->backend->balloon_stats : NULL);
	return rc ? rc : live_end(vm, "balloon statistics", vm->backend->balloon_stats(vm->vmm, out));
}

/* ---- hot updates ---- */

/* The path the VMM should open for a new backing file: absolute (the VMM
 * runs in the VM dir), or linked into the jail. malloc'd in *out. */
static int vmm_path_for(sv_vm *vm, const char *drive_id, const char *path, char **out)
{
	*out = NULL;
	char *abs = realpath(path, NULL);
	if (!abs)
		return sv_err(SV_ENOTFOUND, "drive \"%s\": path: %s: no such file", drive_id, path);
	if (!vm->jail_root) {
		*out = abs;
		return 0;
	}
	/* The jailed VMM sees only its root: link the file in under a name
	 * no other drive uses. */
	char *jail_path = NULL;
	char *base = strrchr(abs, '/') + 1;
	if (asprintf(&jail_path, "/drives/%s-update-%lld-%s", drive_id, sv_now_ms(), base) < 0) {
		free(abs);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	sv_ledger *ledger = NULL;
	int rc = sv_ledger_open(&ledger, vm->dir);
	if (!rc)
		rc = sv_vm__jail_link(vm, ledger, abs, jail_path);
	sv_ledger_close(ledger);
	free(abs);
	if (rc) {
		free(jail_path);
		return rc;
	}
	*out = jail_path;
	return 0;
}

int sv_vm_drive_update(sv_vm *vm, const char *drive_id, const char *path, const sv_rate_limiter *rl)
{
	int rc = live_begin(vm, "drive update", vm->backend ? vm->backend->drive_update : NULL);
	if (rc)
		return rc;
	if (!drive_id || !*drive_id)
		return sv_err(SV_EINVAL, "VM \"%s\": drive update: drive_id: required", vm->id);
	if (!path && !rl)
		return sv_err(SV_EINVAL, "VM \"%s\": drive update: give a new path, a rate limiter or both", vm->id);
	char *vmm_path = NULL;
	if (path && (rc = vmm_path_for(vm, drive_id, path, &vmm_path)))
		return live_end(vm, "drive update", rc);
	rc = vm->backend->drive_update(vm->vmm, drive_id, vmm_path, rl);
	free(vmm_path);
	return live_end(vm, "drive update", rc);
}

int sv_vm_net_iface_update(sv_vm *vm, const char *iface_id, const sv_rate_limiter *rx, const sv_rate_limiter *tx)
{
	int rc = live_begin(vm, "network interface update", vm->backend ? vm->backend->iface_update : NULL);
	if (rc)
		return rc;
	if (!iface_id || !*iface_id)
		return sv_err(SV_EINVAL, "VM \"%s\": network interface update: iface_id: required", vm->id);
	if (!rx && !tx)
		return sv_err(SV_EINVAL, "VM \"%s\": network interface update: give an rx or a tx rate limiter", vm->id);
	return live_end(vm, "network interface update", vm->backend->iface_update(vm->vmm, iface_id, rx, tx));
}

/* ---- metrics ---- */

int sv_vm__parse_metrics(const char *path, const char *text, size_t len, json_t **latest, size_t *count)
{
	*latest = NULL;
	*count = 0;
	size_t off = 0;
	while (off < len) {
		while (off < len && strchr(" \t\r\n", text[off]))
			off++;
		if (off >= len)
			break;
		json_error_t jerr;
		json_t *obj = json_loadb(text + off, len - off, JSON_DISABLE_EOF_CHECK, &jerr);
		if (!obj || !json_is_object(obj)) {
			json_decref(obj);
			json_decref(*latest);
			*latest = NULL;
			return sv_err(SV_EVMM, "metrics file %s: not a sequence of JSON objects at byte %zu: %s", path,
				      off, obj ? "not an object" : jerr.text);
		}
		off += jerr.position;
		json_decref(*latest);
		*latest = obj;
		(*count)++;
	}
	return 0;
}

int sv_vm_metrics(sv_vm *vm, bool flush, char **out, size_t *n_flushes)
{
	*out = NULL;
	if (n_flushes)
		*n_flushes = 0;
	int rc = live_begin(vm, "metrics", vm->backend ? vm->backend->flush_metrics : NULL);
	if (rc)
		return rc;
	if (!vm->cfg || !vm->cfg->metrics)
		return sv_err(SV_EINVALID_STATE, "VM \"%s\": metrics: the VM has no metrics file (configure metrics at boot)",
			      vm->id);
	if (flush && (rc = vm->backend->flush_metrics(vm->vmm)))
		return live_end(vm, "metrics", rc);
	char *path = NULL;
	if (vm->staged && vm->staged->metrics) {
		path = sv_vm__host_path(vm, vm->staged->metrics->metrics_path);
	} else if (vm->jail_root) { /* jailed: the file is "/<basename>" in the jail */
		const char *b = strrchr(vm->cfg->metrics->metrics_path, '/');
		path = sv_path_join(vm->jail_root, b ? b + 1 : vm->cfg->metrics->metrics_path);
	} else {
		path = strdup(vm->cfg->metrics->metrics_path);
	}
	char *text = NULL;
	size_t len = 0;
	rc = path ? sv_read_file(path, MAX_METRICS_BYTES, &text, &len) : sv_err(SV_ENOMEM, "out of memory");
	json_t *latest = NULL;
	size_t count = 0;
	if (!rc)
		rc = sv_vm__parse_metrics(path, text, len, &latest, &count);
	free(text);
	free(path);
	if (rc)
		return live_end(vm, "metrics", rc);
	if (!latest)
		return sv_err(SV_ENOTFOUND, "VM \"%s\": metrics: nothing flushed yet", vm->id);
	*out = json_dumps(latest, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(latest);
	if (n_flushes)
		*n_flushes = count;
	return *out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}
