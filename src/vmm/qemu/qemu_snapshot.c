/* Snapshots of a QEMU guest to a file and back (see qemu.h).
 *
 * The state file is opened here and passed to QEMU over QMP (getfd with
 * SCM_RIGHTS), then "migrate"/"migrate-incoming" use the "fd:" URI: QEMU 7.2
 * has no "file:" URI and "exec:" would run a shell. Snapshots are written to
 * <path>.tmp.<pid>, fsynced, and renamed, so a state file is complete or
 * absent. Every wait for the migration is bounded by the caller's timeout;
 * a timed-out outgoing migration is cancelled and its file removed.
 */
#include "vmm/qemu/qemu.h"
#include "vmm/qemu/qemu_internal.h"

#include "util/error.h"
#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POLL_INTERVAL_MS 20

static void sleep_ms(int ms)
{
	poll(NULL, 0, ms);
}

/* Hands fd to QEMU under fdname. */
static int pass_fd(sv_qemu_vmm *q, int fd, const char *fdname)
{
	json_t *args = json_pack("{s:s}", "fdname", fdname);
	if (!args)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = sv_qmp_execute_with_fd(q->qmp, "getfd", args, fd, NULL);
	json_decref(args);
	return rc;
}

static void drop_fd(sv_qemu_vmm *q, const char *fdname)
{
	sv_err_saved saved;
	sv_err_save(&saved);
	json_t *args = json_pack("{s:s}", "fdname", fdname);
	if (args)
		sv_qmp_execute(q->qmp, "closefd", args, NULL);
	json_decref(args);
	sv_err_restore(&saved);
}

/* Polls query-migrate until the outgoing migration completes or fails. */
static int wait_migration(sv_qemu_vmm *q, long long deadline, int timeout_ms)
{
	for (;;) {
		json_t *ret = NULL;
		int rc = sv_qmp_execute(q->qmp, "query-migrate", NULL, &ret);
		if (rc)
			return rc;
		const char *status = json_string_value(json_object_get(ret, "status"));
		if (status && strcmp(status, "completed") == 0) {
			json_decref(ret);
			return 0;
		}
		if (status && (strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0)) {
			const char *desc = json_string_value(json_object_get(ret, "error-desc"));
			rc = sv_err(SV_EVMM, "migration %s%s%s", status, desc ? ": " : "", desc ? desc : "");
			json_decref(ret);
			return rc;
		}
		json_decref(ret);
		if (sv_now_ms() >= deadline)
			return sv_err(SV_ETIMEOUT, "migration not finished after %d ms", timeout_ms);
		sleep_ms(POLL_INTERVAL_MS);
	}
}

static int snapshot_to(sv_qemu_vmm *q, int fd, int timeout_ms)
{
	long long deadline = sv_now_ms() + timeout_ms;
	int rc = pass_fd(q, fd, "sv-snapshot");
	if (rc)
		return rc;
	json_t *args = json_pack("{s:s}", "uri", "fd:sv-snapshot");
	rc = args ? sv_qmp_execute(q->qmp, "migrate", args, NULL) : sv_err(SV_ENOMEM, "out of memory");
	json_decref(args);
	if (rc) {
		drop_fd(q, "sv-snapshot");
		return rc;
	}
	rc = wait_migration(q, deadline, timeout_ms);
	if (rc == SV_ETIMEOUT) {
		sv_err_saved saved;
		sv_err_save(&saved);
		sv_qmp_execute(q->qmp, "migrate_cancel", NULL, NULL);
		sv_err_restore(&saved);
	}
	return rc;
}

int sv_qemu_snapshot(sv_vmm *vmm, const char *state_path, int timeout_ms)
{
	sv_qemu_vmm *q;
	int rc = sv_qemu_from_vmm(vmm, &q);
	if (rc)
		return rc;
	char *status = NULL;
	rc = sv_qemu_status(vmm, &status);
	if (rc)
		return sv_err_prefix("snapshot to %s", state_path);
	/* postmigrate: paused after an earlier snapshot, not resumed since. */
	if (strcmp(status, "paused") != 0 && strcmp(status, "postmigrate") != 0) {
		rc = sv_err(SV_EINVALID_STATE, "snapshot to %s: the VM must be paused (QEMU status %s)",
			    state_path, status);
		free(status);
		return rc;
	}
	free(status);

	char *tmp = NULL;
	if (asprintf(&tmp, "%s.tmp.%d", state_path, (int)getpid()) < 0)
		return sv_err(SV_ENOMEM, "out of memory");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = sv_err_errno(SV_EIO, errno, "snapshot: creating %s", tmp);
		free(tmp);
		return rc;
	}
	rc = snapshot_to(q, fd, timeout_ms);
	if (rc == 0 && fsync(fd) != 0)
		rc = sv_err_errno(SV_EIO, errno, "fsync %s", tmp);
	close(fd);
	if (rc == 0 && rename(tmp, state_path) != 0)
		rc = sv_err_errno(SV_EIO, errno, "rename %s to %s", tmp, state_path);
	if (rc) {
		unlink(tmp);
		sv_err_prefix("snapshot to %s", state_path);
	}
	free(tmp);
	return rc;
}

/* Waits until QEMU has left "inmigrate". The incoming side ends with QEMU
 * exiting when the stream is bad, which shows up as a closed connection. */
static int wait_incoming(sv_vmm *vmm, long long deadline, int timeout_ms)
{
	for (;;) {
		char *status = NULL;
		int rc = sv_qemu_status(vmm, &status);
		if (rc)
			return rc;
		bool done = strcmp(status, "inmigrate") != 0;
		bool ok = strcmp(status, "paused") == 0 || strcmp(status, "running") == 0;
		if (done && !ok) {
			rc = sv_err(SV_EVMM, "migration ended in QEMU status %s", status);
			free(status);
			return rc;
		}
		free(status);
		if (done)
			return 0;
		if (sv_now_ms() >= deadline)
			return sv_err(SV_ETIMEOUT, "incoming migration not finished after %d ms", timeout_ms);
		sleep_ms(POLL_INTERVAL_MS);
	}
}

int sv_qemu_restore(sv_vmm *vmm, const char *state_path, int timeout_ms)
{
	sv_qemu_vmm *q;
	int rc = sv_qemu_from_vmm(vmm, &q);
	if (rc)
		return rc;
	long long deadline = sv_now_ms() + timeout_ms;
	char *status = NULL;
	rc = sv_qemu_status(vmm, &status);
	if (rc)
		return sv_err_prefix("restore from %s", state_path);
	if (strcmp(status, "inmigrate") != 0) {
		rc = sv_err(SV_EINVALID_STATE,
			    "restore from %s: QEMU was not started to receive a snapshot (QEMU status %s)",
			    state_path, status);
		free(status);
		return rc;
	}
	free(status);
	int fd = open(state_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(errno == ENOENT ? SV_ENOTFOUND : SV_EIO, errno, "restore: opening %s",
				    state_path);
	rc = pass_fd(q, fd, "sv-restore");
	close(fd);
	if (rc)
		return sv_err_prefix("restore from %s", state_path);
	json_t *args = json_pack("{s:s}", "uri", "fd:sv-restore");
	rc = args ? sv_qmp_execute(q->qmp, "migrate-incoming", args, NULL) : sv_err(SV_ENOMEM, "out of memory");
	json_decref(args);
	if (rc) {
		drop_fd(q, "sv-restore");
		return sv_err_prefix("restore from %s", state_path);
	}
	rc = wait_incoming(vmm, deadline, timeout_ms);
	return rc ? sv_err_prefix("restore from %s", state_path) : 0;
}
