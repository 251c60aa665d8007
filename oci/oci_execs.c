/* Exec relay records (see oci_execs.h). Like state.json, a record chooses
 * which pid gets signalled, so it is read only from the trusted container
 * directory and a pid is used only while its start time matches. */
#include "oci_execs.h"

#include "util/error.h"
#include "util/file.h"
#include "util/spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <smartvm/error.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RECORD_MAX_BYTES 8192
#define NAME_PREFIX "exec-"
#define NAME_SUFFIX ".json"
/* How long kill_all waits for a relay to die of SIGKILL. */
#define DEATH_TIMEOUT_MS 10000

static void record_name(char *buf, size_t len, pid_t pid)
{
	snprintf(buf, len, NAME_PREFIX "%d" NAME_SUFFIX, (int)pid);
}

int oci_execs_add(const oci_dir *d, const char *command)
{
	pid_t pid = getpid();
	char name[64];
	record_name(name, sizeof(name), pid);
	json_t *o = json_pack("{s:I, s:I, s:s}", "pid", (json_int_t)pid, "start_time",
			      (json_int_t)sv_process_start_time(pid), "command", command);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = sv_write_file_atomic_at(d->fd, d->dir, name, text, strlen(text), 0600);
	free(text);
	return rc;
}

void oci_execs_remove(const oci_dir *d)
{
	char name[64];
	record_name(name, sizeof(name), getpid());
	unlinkat(d->fd, name, 0);
}

/* One record by name; false (and the stale file removed) if its process is gone. */
static bool read_record(const oci_dir *d, const char *name, oci_exec_record *r)
{
	char *text = NULL;
	if (sv_read_file_at(d->fd, d->dir, name, RECORD_MAX_BYTES, &text, NULL) < 0)
		return false;
	json_t *o = json_loads(text, 0, NULL);
	free(text);
	json_int_t pid = 0, start = 0;
	const char *command = NULL;
	char expected[64];
	bool ok = o && json_unpack(o, "{s:I, s:I, s:s}", "pid", &pid, "start_time", &start, "command",
				   &command) == 0 && pid > 0 && pid <= INT32_MAX;
	if (ok) { /* the name and the pid agree: a record cannot stand for another */
		record_name(expected, sizeof(expected), (pid_t)pid);
		ok = strcmp(expected, name) == 0;
	}
	/* A zombie (killed, not reaped yet) stands for nothing any more. */
	oci_state as_state = {.pid = (pid_t)pid, .start_time = (unsigned long long)start};
	bool alive = ok && oci_state_process_alive(&as_state);
	if (alive) {
		*r = (oci_exec_record){.pid = (pid_t)pid,
				       .start_time = (unsigned long long)start,
				       .command = strdup(command)};
		alive = r->command != NULL;
	} else {
		unlinkat(d->fd, name, 0);
	}
	json_decref(o);
	return alive;
}

static int by_pid(const void *a, const void *b)
{
	const oci_exec_record *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

int oci_execs_list(const oci_dir *d, oci_exec_record **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return sv_err_errno(SV_EIO, errno, "listing %s", d->dir);
	}
	struct dirent *ent;
	size_t cap = 0;
	int rc = 0;
	while (rc == 0 && (ent = readdir(dir)) != NULL) {
		size_t len = strlen(ent->d_name);
		if (ent->d_type != DT_REG || strncmp(ent->d_name, NAME_PREFIX, strlen(NAME_PREFIX)) ||
		    len < strlen(NAME_SUFFIX) || strcmp(ent->d_name + len - strlen(NAME_SUFFIX), NAME_SUFFIX))
			continue;
		if (*n == cap) {
			oci_exec_record *grown = realloc(*out, (cap = cap ? cap * 2 : 4) * sizeof(**out));
			if (!grown) {
				rc = sv_err(SV_ENOMEM, "out of memory");
				break;
			}
			*out = grown;
		}
		if (read_record(d, ent->d_name, &(*out)[*n]))
			(*n)++;
	}
	closedir(dir);
	if (rc < 0) {
		oci_execs_free(*out, *n);
		*out = NULL;
		*n = 0;
		return rc;
	}
	if (*n)
		qsort(*out, *n, sizeof(**out), by_pid);
	return 0;
}

void oci_execs_free(oci_exec_record *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].command);
	free(r);
}

void oci_execs_signal_all(const oci_dir *d, int sig)
{
	oci_exec_record *r;
	size_t n;
	if (oci_execs_list(d, &r, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		int pidfd = (int)syscall(SYS_pidfd_open, r[i].pid, 0);
		/* The start time is checked after the open: a reused pid is never signalled. */
		if (pidfd >= 0 && sv_process_start_time(r[i].pid) == r[i].start_time &&
		    syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0 && sig == SIGKILL)
			sv_pidfd_wait_exit(pidfd, DEATH_TIMEOUT_MS);
		if (pidfd >= 0)
			close(pidfd);
		if (sig == SIGKILL) { /* dead: its record goes */
			char name[64];
			record_name(name, sizeof(name), r[i].pid);
			unlinkat(d->fd, name, 0);
		}
	}
	oci_execs_free(r, n);
}
