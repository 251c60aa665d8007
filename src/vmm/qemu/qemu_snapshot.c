/* The QEMU backend's snapshot_create and snapshot_load ops: a snapshot is
 * QEMU's migration stream written to the state file. It holds CPU, device
 * and guest memory state, so there is no separate memory file
 * (snapshot_memory_in_state) and no Uffd.
 *
 * The file is opened here and handed to QEMU over QMP (getfd, SCM_RIGHTS),
 * then "migrate"/"migrate-incoming" use the "fd:" URI: QEMU 7.2 has no
 * "file:" URI and "exec:" would run a shell. We keep our own descriptor of
 * the same open file while QEMU works on it; its offset is QEMU's progress.
 * A migration may take as long as it keeps moving, and fails once it has
 * made no progress for the connection's API timeout: bounded, yet not a
 * fixed limit that a large guest could outgrow.
 *
 * Snapshots are written to <path>.tmp.<pid>, fsynced and renamed, so a state
 * file is complete or absent; a failed or stalled outgoing migration is
 * cancelled and its file removed. A restore needs a QEMU launched with
 * launch->incoming ("-incoming defer"), which waits in status "inmigrate"
 * and stays paused after the load unless asked to resume. Never kills QEMU:
 * a failed incoming migration ends the process, the VM layer reaps it. */
#include "vmm/qemu/qemu.h"
#include "vmm/qemu/qemu_internal.h"

#include "util/error.h"
#include "util/escape.h"
#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POLL_INTERVAL_MS 20

static void sleep_ms(int ms) { poll(NULL, 0, ms); }

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

/* Watches the shared file offset: 0 while it moves, SV_ETIMEOUT once it has
 * stood still for the API timeout. */
typedef struct {
	int fd;
	off_t last;
	long long moved_ms;
	int stall_ms;
} progress;

static int check_progress(progress *p, const char *what)
{
	off_t now = lseek(p->fd, 0, SEEK_CUR);
	if (now != p->last) {
		p->last = now;
		p->moved_ms = sv_now_ms();
		return 0;
	}
	if (sv_now_ms() - p->moved_ms >= p->stall_ms)
		return sv_err(SV_ETIMEOUT, "%s made no progress for %d ms (stalled at byte %lld)", what,
			      p->stall_ms, (long long)now);
	return 0;
}

/* Polls query-migrate until the outgoing migration completes or fails. */
static int wait_outgoing(sv_qemu_vmm *q, progress *p)
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
			char *quoted = desc ? sv_escape_text(desc, strlen(desc), NULL) : NULL; /* QEMU's words */
			rc = sv_err(SV_EVMM, "migration %s%s%s", status, quoted ? ": " : "", quoted ? quoted : "");
			free(quoted);
			json_decref(ret);
			return rc;
		}
		json_decref(ret);
		if ((rc = check_progress(p, "migration")))
			return rc;
		sleep_ms(POLL_INTERVAL_MS);
	}
}

static int migrate_to(sv_qemu_vmm *q, int fd)
{
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
	progress p = {.fd = fd, .last = 0, .moved_ms = sv_now_ms(), .stall_ms = q->api_timeout_ms};
	rc = wait_outgoing(q, &p);
	if (rc == SV_ETIMEOUT) {
		sv_err_saved saved;
		sv_err_save(&saved);
		sv_qmp_execute(q->qmp, "migrate_cancel", NULL, NULL);
		sv_err_restore(&saved);
	}
	return rc;
}

/* Writes state_path through a temporary file (complete or absent). */
static int write_state(sv_qemu_vmm *q, const char *state_path)
{
	char *tmp = NULL;
	if (asprintf(&tmp, "%s.tmp.%d", state_path, (int)getpid()) < 0)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = 0;
	/* A fresh file: never through a link planted at the temporary name. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = sv_err_errno(SV_EIO, errno, "creating %s", tmp);
		free(tmp);
		return rc;
	}
	rc = migrate_to(q, fd);
	if (rc == 0 && fsync(fd) != 0)
		rc = sv_err_errno(SV_EIO, errno, "fsync %s", tmp);
	close(fd);
	if (rc == 0 && rename(tmp, state_path) != 0)
		rc = sv_err_errno(SV_EIO, errno, "rename %s to %s", tmp, state_path);
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

int sv_qemu_snapshot_create(sv_vmm *vmm, const sv_vmm_snapshot_create *params)
{
	sv_qemu_vmm *q;
	int rc = sv_qemu_from_vmm(vmm, &q);
	if (rc)
		return rc;
	if (params->diff)
		return sv_err(SV_EUNSUPPORTED, "snapshot type Diff: not supported by the qemu backend");
	char *status = NULL;
	if ((rc = sv_qemu_status(vmm, &status)))
		return sv_err_prefix("snapshot to %s", params->state_path);
	/* postmigrate: paused after an earlier snapshot, not resumed since. */
	if (strcmp(status, "paused") != 0 && strcmp(status, "postmigrate") != 0)
		rc = sv_err(SV_EINVALID_STATE, "snapshot to %s: the VM must be paused (QEMU status %s)",
			    params->state_path, status);
	free(status);
	if (!rc && (rc = write_state(q, params->state_path)))
		sv_err_prefix("snapshot to %s", params->state_path);
	return rc;
}

/* Waits until QEMU has left "inmigrate". A bad stream makes QEMU exit,
 * which shows up as a closed connection. */
static int wait_incoming(sv_vmm *vmm, progress *p)
{
	for (;;) {
		char *status = NULL;
		int rc = sv_qemu_status(vmm, &status);
		if (rc)
			return rc;
		bool done = strcmp(status, "inmigrate") != 0;
		bool ok = strcmp(status, "paused") == 0 || strcmp(status, "running") == 0;
		if (done && !ok)
			rc = sv_err(SV_EVMM, "migration ended in QEMU status %s", status);
		free(status);
		if (done || rc)
			return rc;
		if ((rc = check_progress(p, "incoming migration")))
			return rc;
		sleep_ms(POLL_INTERVAL_MS);
	}
}

static int load_state(sv_qemu_vmm *q, const char *state_path)
{
	/* A regular file only (the VM layer checked it; this keeps a FIFO from
	 * blocking and a link from being followed should anyone call it else). */
	int fd = open(state_path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(errno == ENOENT ? SV_ENOTFOUND : SV_EIO, errno, "opening the state file");
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return sv_err(SV_EINVAL, "the state file is not a regular file");
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	int rc = pass_fd(q, fd, "sv-restore");
	json_t *args = rc ? NULL : json_pack("{s:s}", "uri", "fd:sv-restore");
	if (!rc)
		rc = args ? sv_qmp_execute(q->qmp, "migrate-incoming", args, NULL)
			  : sv_err(SV_ENOMEM, "out of memory");
	json_decref(args);
	if (rc) {
		drop_fd(q, "sv-restore");
	} else {
		progress p = {.fd = fd, .last = 0, .moved_ms = sv_now_ms(), .stall_ms = q->api_timeout_ms};
		rc = wait_incoming(&q->base, &p);
	}
	close(fd);
	return rc;
}

int sv_qemu_snapshot_load(sv_vmm *vmm, const sv_vmm_snapshot_load *params)
{
	sv_qemu_vmm *q;
	int rc = sv_qemu_from_vmm(vmm, &q);
	if (rc)
		return rc;
	if (params->uffd)
		return sv_err(SV_EUNSUPPORTED, "memory backend Uffd: not supported by the qemu backend");
	if (params->clock_realtime)
		return sv_err(SV_EUNSUPPORTED, "clock_realtime: not supported by the qemu backend");
	char *status = NULL;
	if ((rc = sv_qemu_status(vmm, &status)))
		return sv_err_prefix("restore from %s", params->state_path);
	if (strcmp(status, "inmigrate") != 0)
		rc = sv_err(SV_EINVALID_STATE,
			    "restore from %s: QEMU was not started to receive a snapshot (QEMU status %s)",
			    params->state_path, status);
	free(status);
	if (rc)
		return rc;
	/* The TAPs, vsock and outputs are on QEMU's command line already: the
	 * VM layer launched it from the restored VM's own staged config. */
	if ((rc = load_state(q, params->state_path)))
		return sv_err_prefix("restore from %s", params->state_path);
	if (params->resume && (rc = sv_qmp_execute(q->qmp, "cont", NULL, NULL)))
		return sv_err_prefix("restore from %s: resuming", params->state_path);
	return 0;
}
