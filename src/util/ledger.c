/* The per-VM resource ledger. Append-only; each record is one line written
 * with a single write() and fsync'd before the caller creates the resource, so
 * after any crash the ledger names a superset of what exists. Replay walks it
 * backwards and never stops at the first failure.
 *
 * What a replay may touch is limited, because a ledger is only as trustworthy
 * as the directory it sits in: the VM directory is checked (sv_trusted_dir)
 * and the ledger read through its fd without following a link; `file`
 * entries are removed only inside that directory, never through a symlink;
 * a `pid` is killed only when its start time and executable are the ones
 * recorded. What cannot be undone (a failure, an unknown kind, a refusal) is
 * kept: the ledger is rewritten with just those entries, the reason saved
 * beside it, and the directory stays for the next replay (`smartvm gc`). */
#include "util/ledger.h"
#include "util/ledger_parse.h"

#include "util/buf.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/file.h"
#include "util/log.h"
#include "util/pct.h"
#include "util/spawn.h"
#include "util/trace.h"
#include "util/trusted_dir.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LEDGER_NAME "ledger"
#define MAX_KINDS 24
#define MAX_LEDGER_BYTES (1 << 20)

struct sv_ledger {
	int fd;
	char *dir;
};

static struct {
	const char *kind;
	sv_ledger_undo_fn undo;
} undo_table[MAX_KINDS];
static int n_undo;
static pthread_mutex_t undo_lock = PTHREAD_MUTEX_INITIALIZER;

void sv_ledger_register(const char *kind, sv_ledger_undo_fn undo)
{
	pthread_mutex_lock(&undo_lock);
	for (int i = 0; i < n_undo; i++) {
		if (!strcmp(undo_table[i].kind, kind)) {
			undo_table[i].undo = undo;
			pthread_mutex_unlock(&undo_lock);
			return;
		}
	}
	if (n_undo < MAX_KINDS)
		undo_table[n_undo++] = (typeof(undo_table[0])){kind, undo};
	pthread_mutex_unlock(&undo_lock);
}

static sv_ledger_undo_fn find_undo(const char *kind)
{
	sv_ledger_undo_fn fn = NULL;
	pthread_mutex_lock(&undo_lock);
	for (int i = 0; i < n_undo; i++)
		if (!strcmp(undo_table[i].kind, kind))
			fn = undo_table[i].undo;
	pthread_mutex_unlock(&undo_lock);
	return fn;
}

/* ---- writing ---- */

int sv_ledger_open_at(sv_ledger **out, int dirfd, const char *vm_dir)
{
	*out = NULL;
	sv_ledger *l = calloc(1, sizeof(*l));
	if (!l || !(l->dir = strdup(vm_dir))) {
		free(l);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	l->fd = openat(dirfd, LEDGER_NAME, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (l->fd < 0) {
		int rc = errno == ELOOP
			     ? sv_err(SV_EUNSAFE, "opening ledger %s/%s: is a symlink", vm_dir, LEDGER_NAME)
			     : sv_err_errno(SV_EIO, errno, "opening ledger %s/%s", vm_dir, LEDGER_NAME);
		free(l->dir);
		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

int sv_ledger_open(sv_ledger **out, const char *vm_dir)
{
	*out = NULL;
	int dfd = open(vm_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return sv_err_errno(SV_EIO, errno, "opening ledger in %s", vm_dir);
	int rc = sv_ledger_open_at(out, dfd, vm_dir);
	close(dfd);
	return rc;
}

void sv_ledger_close(sv_ledger *l)
{
	if (!l)
		return;
	close(l->fd);
	free(l->dir);
	free(l);
}

const char *sv_ledger_dir(const sv_ledger *l) { return l->dir; }

/* The length of dir without trailing slashes. */
static size_t dir_len(const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	return n;
}

/* path relative to dir when path is below it, else NULL. */
static const char *inside(const char *dir, const char *path)
{
	size_t n = dir_len(dir);
	if (strncmp(path, dir, n) || path[n] != '/')
		return NULL;
	while (path[n] == '/')
		n++;
	return path[n] ? path + n : NULL;
}

static int record(sv_ledger *l, const char *kind, const char *const *args, int n_args)
{
	/* One line, built in a buffer that grows to its size (open_memstream
	 * calloc'd 8 KiB: two page faults for a forked supervisor's one entry). */
	sv_buf line = {0};
	int rc = sv_buf_append(&line, kind, strlen(kind));
	for (int i = 0; i < n_args && !rc; i++) {
		char *enc = sv_pct_encode(args[i]);
		rc = enc ? sv_buf_append(&line, " ", 1) : SV_ENOMEM;
		if (!rc)
			rc = sv_buf_append(&line, enc, strlen(enc));
		free(enc);
	}
	if (!rc)
		rc = sv_buf_append(&line, "\n", 1);
	if (rc)
		rc = sv_err(SV_ENOMEM, "out of memory");
	else if (write(l->fd, line.data, line.len) != (ssize_t)line.len || fdatasync(l->fd) != 0)
		rc = sv_err_errno(SV_EIO, errno, "writing ledger %s/%s", l->dir, LEDGER_NAME);
	sv_buf_free(&line);
	return rc;
}

int sv_ledger_record(sv_ledger *l, const char *kind, const char *arg1, const char *arg2)
{
	if (!arg1 || !*arg1)
		return sv_err(SV_EINVAL, "ledger %s/%s: entry \"%s\" without an argument", l->dir,
			      LEDGER_NAME, kind);
	/* Files are recorded relative to the VM directory: the replay then
	 * finds them inside it whatever spelling of the runtime dir it gets. */
	const char *rel = !strcmp(kind, "file") ? inside(l->dir, arg1) : NULL;
	const char *args[] = {rel ? rel : arg1, arg2};
	return record(l, kind, args, arg2 ? 2 : 1);
}

/* readlink of /proc/PID/exe into buf; 0, or the errno (ENOENT for a process
 * that is gone or a zombie, whose executable is already released). */
static int process_exe(pid_t pid, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, buf, size - 1);
	if (n <= 0)
		return n < 0 ? errno : ENOENT;
	buf[n] = '\0';
	return 0;
}

int sv_ledger_record_pid(sv_ledger *l, pid_t pid)
{
	char p[32], s[32], exe[PATH_MAX];
	unsigned long long start = sv_process_start_time(pid);
	if (!start || process_exe(pid, exe, sizeof(exe)) != 0)
		return sv_err(SV_EPROCESS, "ledger %s/%s: process %d is gone or unreadable; not recorded",
			      l->dir, LEDGER_NAME, (int)pid);
	snprintf(p, sizeof(p), "%d", (int)pid);
	snprintf(s, sizeof(s), "%llu", start);
	const char *args[] = {p, s, exe};
	return record(l, "pid", args, 3);
}

/* path as /proc/PID/exe will show it once a process runs it: symlinks
 * resolved, in the file itself or, for a file not there yet (the jailer
 * copies Firecracker into the jail later), in its directory. malloc'd. */
static char *canonical_exe(const char *path)
{
	char *real = realpath(path, NULL);
	if (real)
		return real;
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return strdup(path);
	char *dir = strndup(path, (size_t)(slash - path));
	char *real_dir = dir ? realpath(dir, NULL) : NULL, *joined = NULL;
	if (real_dir && asprintf(&joined, "%s%s", real_dir, slash) < 0)
		joined = NULL;
	free(dir);
	free(real_dir);
	return joined ? joined : strdup(path);
}

int sv_ledger_record_child(sv_ledger *l, pid_t pid, const char *exe, const char *then_exe)
{
	char p[32], s[32];
	unsigned long long start = sv_process_start_time(pid);
	if (!start)
		return sv_err(SV_EPROCESS, "ledger %s/%s: process %d is gone or unreadable; not recorded",
			      l->dir, LEDGER_NAME, (int)pid);
	snprintf(p, sizeof(p), "%d", (int)pid);
	snprintf(s, sizeof(s), "%llu", start);
	char *e = canonical_exe(exe), *t = then_exe ? canonical_exe(then_exe) : NULL;
	const char *args[] = {p, s, e, t};
	int rc =
	    e && (t || !then_exe) ? record(l, "pid", args, t ? 4 : 3) : sv_err(SV_ENOMEM, "out of memory");
	free(e);
	free(t);
	return rc;
}

/* ---- replay ---- */

typedef struct {
	int dfd;
	const char *dir;
} replay_ctx;

/* Unlinks rel (a path below the VM directory) walking one component at a
 * time with O_NOFOLLOW: a symlink anywhere on the way is refused. Its
 * buffers are sized to the path, on the heap: a forked supervisor runs this
 * at every stop, and each page of stack it touches costs it a page fault. */
static int undo_file(const replay_ctx *c, const char *arg)
{
	const char *rel = arg[0] == '/' ? inside(c->dir, arg) : arg;
	if (!rel || strlen(rel) >= PATH_MAX)
		return sv_err(SV_EUNSAFE, "not inside the VM directory; not removed");
	size_t shown_size = strlen(c->dir) + strlen(rel) + 2;
	char *buf = strdup(rel), *shown = malloc(shown_size);
	if (!buf || !shown) {
		free(buf);
		free(shown);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	char *save = NULL, *names[64];
	int n = 0, rc = 0;
	for (char *name = strtok_r(buf, "/", &save); name && !rc; name = strtok_r(NULL, "/", &save)) {
		if (!strcmp(name, "..") || !strcmp(name, ".") || n == 64)
			rc = sv_err(SV_EUNSAFE, "not inside the VM directory; not removed");
		else
			names[n++] = name;
	}
	if (!rc && !n)
		rc = sv_err(SV_EUNSAFE, "not inside the VM directory; not removed");
	int fd = c->dfd;
	snprintf(shown, shown_size, "%s", c->dir);
	for (int i = 0; i < n - 1 && !rc; i++) {
		size_t used = strlen(shown);
		snprintf(shown + used, shown_size - used, "/%s", names[i]);
		int next = openat(fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT)
			rc = 1; /* already gone */
		else if (next < 0 && (errno == ELOOP || errno == ENOTDIR))
			rc = sv_err(SV_EUNSAFE, "%s is a symlink or not a directory; not followed", shown);
		else if (next < 0)
			rc = sv_err_errno(SV_EIO, errno, "opening %s", shown);
		if (fd != c->dfd)
			close(fd);
		fd = next;
	}
	if (!rc && unlinkat(fd, names[n - 1], 0) != 0 && errno != ENOENT)
		rc = sv_err_errno(SV_EIO, errno, "removing %s/%s", shown, names[n - 1]);
	if (fd >= 0 && fd != c->dfd)
		close(fd);
	free(buf);
	free(shown);
	return rc == 1 ? 0 : rc;
}

/* Is the running executable now the recorded want? A file replaced or
 * removed while it runs (an upgrade; the jail removed around a VMM that
 * outlived its supervisor) reads "<path> (deleted)". */
static bool same_exe(const char *now, const char *want)
{
	static const char deleted[] = " (deleted)";
	size_t n = strlen(want), d = sizeof(deleted) - 1;
	return want[0] && !strncmp(now, want, n) &&
	       (!now[n] || (!strncmp(now + n, deleted, d) && !now[n + d]));
}

/* The process is killed only when it is the one recorded: same start time
 * (not a later process with the reused pid) and one of the executables
 * recorded for it (exe, or then_exe that exe execs). */
static int undo_pid(const char *pid_text, const char *start_text, const char *exe, const char *then_exe)
{
	char *end = NULL;
	long pid = strtol(pid_text, &end, 10);
	if (*end || pid <= 1)
		return sv_err(SV_EINVAL, "not a pid that may be killed");
	if (pid == getpid())
		return 0; /* ourselves: ending is the caller's business */
	unsigned long long start = start_text ? strtoull(start_text, NULL, 10) : 0;
	if (!sv_process_alive((pid_t)pid, start))
		return 0; /* gone: nothing to undo */
	if (!start || !exe)
		return sv_err(SV_EUNSAFE, "recorded without its %s; not killed",
			      start ? "executable" : "start time");
	char now[PATH_MAX];
	int e = process_exe((pid_t)pid, now, sizeof(now));
	if (e == ENOENT)
		return 0; /* exited (a zombie has no executable left): nothing to kill */
	if (e)
		return sv_err_errno(SV_EIO, e, "reading /proc/%ld/exe; not killed", pid);
	if (!same_exe(now, exe) && !(then_exe && same_exe(now, then_exe)))
		return sv_err(SV_EUNSAFE, "process %ld runs %s, not the recorded %s%s%s; not killed", pid,
			      now, exe, then_exe ? " or " : "", then_exe ? then_exe : "");
	kill((pid_t)pid, SIGKILL);
	return 0;
}

/* A socket a VMM created outside its directory (a vsock uds_path): removed
 * only while it is a socket, never what has replaced it. */
static int undo_socket(const char *path)
{
	struct stat st;
	if (path[0] != '/' || lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
		return 0;
	if (unlink(path) != 0 && errno != ENOENT)
		return sv_err_errno(SV_EIO, errno, "removing %s", path);
	return 0;
}

typedef sv_ledger_entry entry;

void sv_ledger_entry_free(sv_ledger_entry *e)
{
	free(e->raw);
	free(e->copy);
	e->raw = e->copy = NULL;
}
#define entry_free sv_ledger_entry_free

int sv_ledger_parse_entry(sv_ledger_entry *e, const char *line)
{
	memset(e, 0, sizeof(*e));
	char *raw = strdup(line), *copy = raw ? strdup(line) : NULL;
	if (!copy) {
		free(raw);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	e->raw = raw;
	e->copy = copy;
	char *save = NULL;
	e->kind = strtok_r(e->copy, " ", &save);
	for (char *a; (a = strtok_r(NULL, " ", &save));) {
		if (e->n_args == SV_LEDGER_MAX_ARGS) {
			e->n_args = -1;
			break;
		}
		sv_pct_decode(a);
		e->args[e->n_args++] = a;
	}
	if (!e->kind) {
		e->kind = "";
		e->n_args = -1;
	}
	return 0;
}

static int undo_entry(const replay_ctx *c, const entry *e)
{
	if (e->n_args < 1)
		return sv_err(SV_EINVAL, "malformed ledger line \"%s\"", e->raw);
	const char *a1 = e->args[0], *a2 = e->n_args > 1 ? e->args[1] : NULL;
	int rc = SV_FAULT_POINT("cleanup.undo");
	if (rc)
		return sv_err_prefix("undoing %s %s", e->kind, a1);
	if (!strcmp(e->kind, "file"))
		rc = undo_file(c, a1);
	else if (!strcmp(e->kind, "pid"))
		rc = undo_pid(a1, a2, e->n_args > 2 ? e->args[2] : NULL, e->n_args > 3 ? e->args[3] : NULL);
	else if (!strcmp(e->kind, "socket"))
		rc = undo_socket(a1);
	else if (!strcmp(e->kind, "dir"))
		rc = sv_rm_rf(a1); /* the jail directory (vm_jail.c): outside the VM directory */
	else {
		sv_ledger_undo_fn undo = find_undo(e->kind);
		if (!undo)
			return sv_err(SV_EUNSUPPORTED, "no handler for ledger entry \"%s %s\"", e->kind, a1);
		sv_trace_span step;
		sv_trace_begin(&step);
		rc = undo(a1, a2);
		char name[48];
		snprintf(name, sizeof(name), "replay:%s", e->kind);
		sv_trace_end(&step, name);
	}
	return rc ? sv_err_prefix("undoing %s %s", e->kind, a1) : 0;
}

/* Rewrites the ledger with the kept entries and saves the reason. */
static int keep_failed(const replay_ctx *c, entry *entries, size_t n, const char *reason)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return sv_err(SV_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (entries[i].keep)
			fprintf(f, "%s\n", entries[i].raw);
	fclose(f);
	int rc = text ? sv_write_file_atomic_at(c->dfd, c->dir, LEDGER_NAME, text, len, 0600)
		      : sv_err(SV_ENOMEM, "out of memory");
	free(text);
	if (!rc) {
		char *line = NULL;
		if (asprintf(&line, "%s\n", reason) < 0)
			return sv_err(SV_ENOMEM, "out of memory");
		rc = sv_write_file_atomic_at(c->dfd, c->dir, SV_LEDGER_CLEANUP_ERROR, line, strlen(line),
					     0600);
		free(line);
	}
	return rc;
}

static int replay_text(const replay_ctx *c, char *text)
{
	entry *entries = NULL;
	size_t n = 0;
	int rc = 0;
	for (char *save = NULL, *line = text ? strtok_r(text, "\n", &save) : NULL; line && !rc;
	     line = strtok_r(NULL, "\n", &save)) {
		entry e;
		if ((rc = sv_ledger_parse_entry(&e, line)))
			break;
		entry *grown = realloc(entries, (n + 1) * sizeof(*entries));
		if (!grown) {
			entry_free(&e);
			rc = sv_err(SV_ENOMEM, "out of memory");
			break;
		}
		entries = grown;
		entries[n++] = e;
	}
	size_t failed = 0;
	int code = 0;
	char *first = NULL;
	for (size_t i = n; !rc && i-- > 0;) {
		if (undo_entry(c, &entries[i]) == 0)
			continue;
		entries[i].keep = true;
		if (!failed++) {
			code = sv_last_error_code();
			first = strdup(sv_last_error());
		}
	}
	if (failed) {
		char *reason = NULL;
		int len = failed > 1 ? asprintf(&reason, "%s (and %zu more entr%s)", first ? first : "",
						failed - 1, failed > 2 ? "ies" : "y")
				     : asprintf(&reason, "%s", first ? first : "");
		if (len < 0)
			reason = NULL;
		if (keep_failed(c, entries, n, reason ? reason : "cleanup failed") != 0)
			sv_warn("keeping what %s could not undo: %s", c->dir, sv_last_error());
		rc = sv_err(code, "%s", reason ? reason : "cleanup failed");
		free(reason);
	}
	free(first);
	for (size_t i = 0; i < n; i++)
		entry_free(&entries[i]);
	free(entries);
	return rc;
}

int sv_ledger_replay(const char *vm_dir) { return sv_ledger_replay_keep(vm_dir, NULL); }

int sv_ledger_replay_keep(const char *vm_dir, const char *const *keep)
{
	int dfd = -1;
	int rc = sv_trusted_dir_existing("VM directory", vm_dir, &dfd);
	if (rc == SV_ENOTFOUND) {
		sv_err_clear();
		return 0;
	}
	if (rc)
		return rc;
	rc = sv_ledger_replay_keep_at(dfd, vm_dir, keep);
	close(dfd);
	return rc;
}

int sv_ledger_replay_keep_at(int dfd, const char *vm_dir, const char *const *keep)
{
	replay_ctx c = {.dfd = dfd, .dir = vm_dir};
	char *text = NULL;
	int rc = sv_read_file_at(c.dfd, vm_dir, LEDGER_NAME, MAX_LEDGER_BYTES, &text, NULL);
	if (rc == SV_ENOTFOUND)
		rc = 0;
	else if (rc) {
		/* Nothing can be undone without it; keep the dir and say why. */
		sv_err_saved saved;
		sv_err_save(&saved);
		char *line = NULL;
		if (asprintf(&line, "%s\n", saved.message ? saved.message : "") >= 0)
			sv_write_file_atomic_at(c.dfd, vm_dir, SV_LEDGER_CLEANUP_ERROR, line, strlen(line),
						0600);
		free(line);
		return sv_err_restore(&saved);
	}
	rc = replay_text(&c, text);
	free(text);
	if (!rc && keep)
		rc = sv_rm_contents_except(c.dfd, vm_dir, keep);
	if (rc || keep)
		return rc;
	return sv_rm_rf(vm_dir);
}

/* Calls fn on each pid entry of the ledger in dirfd until it returns true;
 * whether one did. An unreadable ledger has none. */
static bool any_pid_entry(int dirfd, bool (*fn)(const entry *e))
{
	char *text = NULL;
	bool found = false;
	if (sv_read_file_at(dirfd, "VM directory", LEDGER_NAME, MAX_LEDGER_BYTES, &text, NULL) == 0) {
		for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && !found;
		     line = strtok_r(NULL, "\n", &save)) {
			entry e;
			if (sv_ledger_parse_entry(&e, line) == 0 && !strcmp(e.kind, "pid") && e.n_args >= 2)
				found = fn(&e);
			entry_free(&e);
		}
	}
	free(text);
	sv_err_clear();
	return found;
}

static bool names_live_process(const entry *e)
{
	long pid = strtol(e->args[0], NULL, 10);
	unsigned long long start = strtoull(e->args[1], NULL, 10);
	return pid > 1 && start && sv_process_alive((pid_t)pid, start);
}

bool sv_ledger_names_live_process_at(int dirfd) { return any_pid_entry(dirfd, names_live_process); }

static bool kill_process(const entry *e)
{
	if (undo_pid(e->args[0], e->args[1], e->n_args > 2 ? e->args[2] : NULL,
		     e->n_args > 3 ? e->args[3] : NULL))
		sv_debug("ledger: pid %s: %s", e->args[0], sv_last_error());
	return false; /* on to the next one */
}

void sv_ledger_kill_processes_at(int dirfd) { any_pid_entry(dirfd, kill_process); }
