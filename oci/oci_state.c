/* Container state directories and state.json (see oci_state.h). The file is
 * ours, not the spec's: `state` builds the spec's JSON from it. Whoever can
 * write it chooses which pid `kill` signals, so it is read only from a
 * trusted directory, and a pid is used only while its start time matches. */
#include "oci_state.h"

#include "util/error.h"
#include "util/file.h"
#include "util/spawn.h"
#include "util/trusted_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <smartvm/error.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATE_MAX_BYTES (1u << 20)
#define ID_MAX 64

static const char *const status_names[] = {"creating", "created", "running", "stopped", "paused"};

const char *oci_status_name(oci_status s) { return status_names[s]; }

bool oci_status_live(oci_status s) { return s == OCI_CREATED || s == OCI_RUNNING || s == OCI_PAUSED; }

void oci_state_created_text(const oci_state *s, char *buf, size_t len)
{
	time_t secs = (time_t)(s->created_ns / 1000000000LL);
	struct tm tm;
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", gmtime_r(&secs, &tm));
	snprintf(buf + n, len - n, ".%09lldZ", s->created_ns % 1000000000LL);
}

int oci_check_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > ID_MAX || id[0] == '-' ||
	    strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		       "0123456789_-") != n)
		return sv_err(SV_EINVAL,
			      "container id \"%.80s\": must be 1 to 64 characters of A-Z a-z 0-9 _ -, not "
			      "starting with -",
			      id);
	return 0;
}

static int open_root(oci_dir *d, const char *root, bool create)
{
	*d = (oci_dir){.root_fd = -1, .fd = -1};
	if (root[0] != '/')
		return sv_err(SV_EINVAL, "--root %s: must be an absolute path", root);
	d->root = strdup(root);
	if (!d->root)
		return sv_err(SV_ENOMEM, "out of memory");
	return create ? sv_trusted_dir("state root (--root)", root, 0700, &d->root_fd)
		      : sv_trusted_dir_existing("state root (--root)", root, &d->root_fd);
}

int oci_dir_create(oci_dir *d, const char *root, const char *id)
{
	int rc;
	*d = (oci_dir){.root_fd = -1, .fd = -1};
	if ((rc = oci_check_id(id)) || (rc = open_root(d, root, true)))
		goto fail;
	if (mkdirat(d->root_fd, id, 0700) < 0) {
		rc = errno == EEXIST ? sv_err(SV_EEXISTS, "container \"%s\" already exists", id)
				     : sv_err_errno(SV_EIO, errno, "creating %s/%s", root, id);
		goto fail;
	}
	if ((rc = sv_trusted_subdir_existing("container directory", d->root_fd, root, id, &d->fd)))
		goto fail;
	d->dir = sv_path_join(root, id);
	return d->dir ? 0 : sv_err(SV_ENOMEM, "out of memory");
fail:
	oci_dir_close(d);
	return rc;
}

int oci_dir_open(oci_dir *d, const char *root, const char *id)
{
	int rc;
	*d = (oci_dir){.root_fd = -1, .fd = -1};
	if ((rc = oci_check_id(id)) || (rc = open_root(d, root, false)) ||
	    (rc = sv_trusted_subdir_existing("container directory", d->root_fd, root, id, &d->fd))) {
		if (rc == SV_ENOTFOUND)
			rc = sv_err(SV_ENOTFOUND, "container \"%s\" does not exist", id);
		oci_dir_close(d);
		return rc;
	}
	d->dir = sv_path_join(root, id);
	return d->dir ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

void oci_dir_close(oci_dir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	if (d->root_fd >= 0)
		close(d->root_fd);
	free(d->root);
	free(d->dir);
	*d = (oci_dir){.root_fd = -1, .fd = -1};
}

int oci_dir_lock(const oci_dir *d, int *fd_out)
{
	char *path = sv_path_join(d->dir, OCI_LOCK_FILE);
	int rc = path ? sv_lock_file(path, OCI_LOCK_TIMEOUT_MS, fd_out) : sv_err(SV_ENOMEM, "out of memory");
	free(path);
	return rc;
}

int oci_dir_remove(oci_dir *d) { return sv_rm_rf(d->dir); }

int oci_state_write(const oci_dir *d, const oci_state *s)
{
	json_t *ann = json_loads(s->annotations_json ? s->annotations_json : "{}", 0, NULL);
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:o}", "id", s->id, "bundle", s->bundle,
			      "status", oci_status_name(s->status), "pid", (json_int_t)s->pid, "start_time",
			      (json_int_t)s->start_time, "created_ns", (json_int_t)s->created_ns,
			      "annotations", ann ? ann : json_object());
	char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
	json_decref(o);
	if (!text)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = sv_write_file_atomic_at(d->fd, d->dir, OCI_STATE_FILE, text, strlen(text), 0600);
	free(text);
	return rc;
}

int oci_state_load(const oci_dir *d, oci_state *s)
{
	*s = (oci_state){0};
	char *text = NULL;
	int rc = sv_read_file_at(d->fd, d->dir, OCI_STATE_FILE, STATE_MAX_BYTES, &text, NULL);
	if (rc < 0)
		return rc;
	json_t *o = json_loads(text, 0, NULL), *ann = NULL;
	free(text);
	const char *id = NULL, *bundle = NULL, *status = NULL;
	json_int_t pid = 0, start = 0, created = 0;
	if (!o ||
	    json_unpack(o, "{s:s, s:s, s:s, s:I, s:I, s:I, s:o}", "id", &id, "bundle", &bundle, "status",
			&status, "pid", &pid, "start_time", &start, "created_ns", &created, "annotations",
			&ann) != 0 ||
	    pid < 0 || pid > INT32_MAX) {
		json_decref(o);
		return sv_err(SV_EIO, "%s/" OCI_STATE_FILE ": not a state file smartvm-oci wrote", d->dir);
	}
	s->status = OCI_STOPPED;
	for (size_t i = 0; i < sizeof(status_names) / sizeof(*status_names); i++)
		if (!strcmp(status, status_names[i]))
			s->status = (oci_status)i;
	s->id = strdup(id);
	s->bundle = strdup(bundle);
	s->annotations_json = json_dumps(ann, JSON_COMPACT);
	s->pid = (pid_t)pid;
	s->start_time = (unsigned long long)start;
	s->created_ns = created;
	json_decref(o);
	if (!s->id || !s->bundle || !s->annotations_json) {
		oci_state_free(s);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	if (s->status != OCI_CREATING && !oci_state_process_alive(s))
		s->status = OCI_STOPPED;
	return 0;
}

/* Alive: it exists, is the process we started (start time) and is not a
 * zombie (an engine that has not reaped it yet holds a dead container). */
bool oci_state_process_alive(const oci_state *s)
{
	if (s->pid <= 0 || !s->start_time || sv_process_start_time(s->pid) != s->start_time)
		return false;
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)s->pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return true; /* cannot tell: never take a live process for gone */
	buf[n] = '\0';
	const char *paren = strrchr(buf, ')');
	return !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

void oci_state_free(oci_state *s)
{
	free(s->id);
	free(s->bundle);
	free(s->annotations_json);
	*s = (oci_state){0};
}

int oci_pid_file_write(const char *path, pid_t pid)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%d", (int)pid);
	char *abs = sv_path_absolute(path, NULL);
	int rc = abs ? sv_write_file_atomic(abs, text, (size_t)n, 0644) : sv_err(SV_ENOMEM, "out of memory");
	free(abs);
	if (rc < 0)
		sv_err_prefix("--pid-file");
	return rc;
}
