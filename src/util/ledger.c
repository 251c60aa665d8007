/* The per-VM resource ledger. Append-only; each record is one line written
 * with a single write() and fsync'd before the caller creates the resource, so
 * after any crash the ledger names a superset of what exists. Replay walks it
 * backwards and never stops at the first failure. */
#include "util/ledger.h"
#include "util/ledger_parse.h"

#include "util/error.h"
#include "util/file.h"
#include "util/log.h"
#include "util/spawn.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LEDGER_NAME "ledger"
#define MAX_KINDS 16

struct sv_ledger {
	int fd;
	char *path;
};

static struct {
	const char *kind;
	sv_ledger_undo_fn undo;
} undo_table[MAX_KINDS];
static int n_undo;
static pthread_mutex_t undo_lock = PTHREAD_MUTEX_INITIALIZER;

static int undo_dir(const char *path, const char *unused)
{
	(void)unused;
	return sv_rm_rf(path);
}

static int undo_file(const char *path, const char *unused)
{
	(void)unused;
	if (unlink(path) != 0 && errno != ENOENT)
		return sv_err_errno(SV_EIO, errno, "removing %s", path);
	return 0;
}

static int undo_pid(const char *pid_text, const char *start_text)
{
	pid_t pid = (pid_t)strtol(pid_text, NULL, 10);
	unsigned long long start = start_text ? strtoull(start_text, NULL, 10) : 0;
	/* Only kill the process we started, never a later one that reused the pid. */
	if (pid > 1 && pid != getpid() && sv_process_alive(pid, start))
		kill(pid, SIGKILL);
	return 0;
}

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
		undo_table[n_undo++] = (typeof(undo_table[0])){ kind, undo };
	pthread_mutex_unlock(&undo_lock);
}

static void register_builtins(void);

static sv_ledger_undo_fn find_undo(const char *kind)
{
	static pthread_once_t builtins = PTHREAD_ONCE_INIT;
	pthread_once(&builtins, register_builtins);
	sv_ledger_undo_fn fn = NULL;
	pthread_mutex_lock(&undo_lock);
	for (int i = 0; i < n_undo; i++)
		if (!strcmp(undo_table[i].kind, kind))
			fn = undo_table[i].undo;
	pthread_mutex_unlock(&undo_lock);
	return fn;
}

static void register_builtins(void)
{
	sv_ledger_register("dir", undo_dir);
	sv_ledger_register("file", undo_file);
	sv_ledger_register("pid", undo_pid);
}

int sv_ledger_open(sv_ledger **out, const char *vm_dir)
{
	sv_ledger *l = calloc(1, sizeof(*l));
	if (!l || !(l->path = sv_path_join(vm_dir, LEDGER_NAME))) {
		free(l);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (l->fd < 0) {
		int rc = sv_err_errno(SV_EIO, errno, "opening ledger %s", l->path);
		free(l->path);
		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

void sv_ledger_close(sv_ledger *l)
{
	if (!l)
		return;
	close(l->fd);
	free(l->path);
	free(l);
}

/* Arguments are percent-encoded so paths with spaces or newlines survive the
 * line format. Returns a malloc'd string. */
static char *encode_arg(const char *s)
{
	char *out = malloc(strlen(s) * 3 + 1), *o = out;
	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= ' ' || c == '%' || c == 0x7f)
			o += sprintf(o, "%%%02X", c);
		else
			*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

static void decode_arg(char *s)
{
	char *o = s;
	for (; *s; s++) {
		unsigned int c;
		/* Both digits checked first: "%4" at the end must not skip the NUL. */
		if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2]) &&
		    sscanf(s + 1, "%2X", &c) == 1) {
			*o++ = (char)c;
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

bool sv_ledger_parse_line(char *line, char **kind, char **arg1, char **arg2)
{
	char *save = NULL;
	*kind = strtok_r(line, " ", &save);
	*arg1 = strtok_r(NULL, " ", &save);
	*arg2 = strtok_r(NULL, " ", &save);
	if (!*kind || !*arg1)
		return false;
	decode_arg(*arg1);
	if (*arg2)
		decode_arg(*arg2);
	return true;
}

int sv_ledger_record(sv_ledger *l, const char *kind, const char *arg1, const char *arg2)
{
	if (!arg1 || !*arg1)
		return sv_err(SV_EINVAL, "ledger %s: entry \"%s\" without an argument", l->path, kind);
	char *a1 = encode_arg(arg1), *a2 = arg2 ? encode_arg(arg2) : NULL, *line = NULL;
	int n = -1;
	if (a1 && (a2 || !arg2))
		n = a2 ? asprintf(&line, "%s %s %s\n", kind, a1, a2) : asprintf(&line, "%s %s\n", kind, a1);
	free(a1);
	free(a2);
	if (n < 0)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = 0;
	if (write(l->fd, line, (size_t)n) != n || fdatasync(l->fd) != 0)
		rc = sv_err_errno(SV_EIO, errno, "writing ledger %s", l->path);
	free(line);
	return rc;
}

int sv_ledger_replay(const char *vm_dir)
{
	char *path = sv_path_join(vm_dir, LEDGER_NAME);
	if (!path)
		return sv_err(SV_ENOMEM, "out of memory");
	char *text = NULL;
	int rc = sv_read_file(path, 1 << 20, &text, NULL);
	free(path);
	if (rc == SV_ENOTFOUND) {
		text = NULL;
		rc = 0;
	} else if (rc) {
		return sv_err_prefix("cleaning up %s", vm_dir);
	}

	/* Split into lines, then undo from the last one back. */
	size_t n_lines = 0;
	char **lines = NULL;
	for (char *save = NULL, *line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char **nl = realloc(lines, (n_lines + 1) * sizeof(*lines));
		if (!nl)
			break;
		lines = nl;
		lines[n_lines++] = line;
	}
	int first_error = 0;
	sv_err_saved saved = { 0 };
	for (size_t i = n_lines; i-- > 0;) {
		char *kind, *arg1, *arg2;
		if (!sv_ledger_parse_line(lines[i], &kind, &arg1, &arg2))
			continue;
		sv_ledger_undo_fn undo = find_undo(kind);
		if (!undo) {
			sv_warn("cleaning up %s: no handler for ledger entry \"%s %s\"", vm_dir, kind, arg1);
			continue;
		}
		if (undo(arg1, arg2) != 0 && !first_error) {
			first_error = sv_err_prefix("cleaning up %s: undoing %s %s", vm_dir, kind, arg1);
			sv_err_save(&saved);
		}
	}
	free(lines);
	free(text);
	if (sv_rm_rf(vm_dir) != 0 && !first_error)
		return sv_err_prefix("cleaning up");
	if (first_error)
		return sv_err_restore(&saved);
	return 0;
}
