/* config.json's hooks (see oci_hooks.h). */
#include "oci_hooks.h"

#include "util/error.h"
#include "util/file.h"
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define HOOKS_MAX_BYTES (1u << 20)
#define OUTPUT_SHOWN 300

int oci_hooks_save(const oci_dir *d, const char *hooks_json)
{
	if (!hooks_json)
		return 0;
	return sv_write_file_atomic_at(d->fd, d->dir, OCI_HOOKS_FILE, hooks_json, strlen(hooks_json), 0600);
}

int oci_hooks_load(const oci_dir *d, char **out)
{
	*out = NULL;
	int rc = sv_read_file_at(d->fd, d->dir, OCI_HOOKS_FILE, HOOKS_MAX_BYTES, out, NULL);
	return rc == SV_ENOTFOUND ? 0 : rc;
}

/* A NULL-terminated vector of arr's strings (NULL-terminated, maybe
 * empty); dflt as its only element when arr is absent and dflt given. */
static char **strings(json_t *arr, const char *dflt)
{
	size_t n = json_array_size(arr);
	char **v = calloc(n + 2, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++)
		v[i] = (char *)json_string_value(json_array_get(arr, i));
	if (!arr && dflt)
		v[0] = (char *)dflt;
	return v;
}

/* An anonymous file holding text, at offset 0 (the hook's stdin). */
static int memfd_with(const char *name, const char *text)
{
	int fd = (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC);
	size_t len = text ? strlen(text) : 0;
	if (fd < 0 || (len && write(fd, text, len) != (ssize_t)len) || lseek(fd, 0, SEEK_SET) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Runs one hook; 0, or an error naming field. */
static int run_hook(json_t *h, const char *field, const char *state_json)
{
	const char *path = json_string_value(json_object_get(h, "path"));
	json_t *t = json_object_get(h, "timeout");
	int timeout_s = t ? (int)json_integer_value(t) : OCI_HOOK_TIMEOUT_S;
	char **argv = strings(json_object_get(h, "args"), path);
	char **envp = strings(json_object_get(h, "env"), NULL);
	int in = memfd_with("hook-stdin", state_json), out = memfd_with("hook-output", NULL), rc = 0;
	if (!argv || !envp || in < 0 || out < 0) {
		rc = sv_err_errno(SV_EIO, errno, "%s (%s): setting it up", field, path);
		goto done;
	}
	if (!argv[0]) /* args: [] gives the program no argv[0]; it gets its path */
		argv[0] = (char *)path;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		rc = sv_err_errno(SV_EIO, errno, "%s (%s): fork", field, path);
		goto done;
	}
	if (pid == 0) {
		setsid();
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(126);
		execve(path, argv, envp);
		dprintf(2, "%s: %s", path, strerror(errno));
		_exit(127);
	}
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), status = 0;
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	long long deadline = sv_now_ms() + (long long)timeout_s * 1000;
	int ready = -1;
	while (pidfd >= 0 && (ready = poll(&p, 1, (int)(deadline > sv_now_ms() ? deadline - sv_now_ms() : 0))) < 0 &&
	       errno == EINTR)
		;
	bool timed_out = ready == 0;
	if (ready <= 0)
		kill(-pid, SIGKILL);
	waitpid(pid, &status, 0);
	kill(-pid, SIGKILL); /* what it left running in its group */
	if (pidfd >= 0)
		close(pidfd);
	if (timed_out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char shown[OUTPUT_SHOWN + 1] = "";
		ssize_t n = pread(out, shown, OUTPUT_SHOWN, 0);
		shown[n > 0 ? n : 0] = '\0';
		shown[strcspn(shown, "\n")] = '\0';
		char how[64];
		if (timed_out)
			snprintf(how, sizeof(how), "timed out after %d s (killed)", timeout_s);
		else
			snprintf(how, sizeof(how), "%s", sv_describe_wait_status(status));
		rc = sv_err(SV_EPROCESS, "%s (%s): %s%s%s", field, path, how, shown[0] ? ": " : "", shown);
	}
done:
	free(argv);
	free(envp);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return rc;
}

int oci_hooks_run(const char *hooks_json, const char *kind, const oci_state *s, oci_status status)
{
	json_t *hooks = hooks_json ? json_loads(hooks_json, 0, NULL) : NULL;
	json_t *arr = json_object_get(hooks, kind);
	if (!json_array_size(arr)) {
		json_decref(hooks);
		return 0;
	}
	json_t *ann = json_loads(s->annotations_json ? s->annotations_json : "{}", 0, NULL);
	bool live = status == OCI_CREATING || status == OCI_CREATED || status == OCI_RUNNING;
	json_t *st = json_pack("{s:s, s:s, s:s, s:I, s:s, s:o}", "ociVersion", OCI_SPEC_VERSION, "id",
			       s->id, "status", oci_status_name(status), "pid", (json_int_t)(live ? s->pid : 0),
			       "bundle", s->bundle, "annotations", ann ? ann : json_object());
	char *state_json = st ? json_dumps(st, JSON_COMPACT) : NULL;
	int rc = state_json ? 0 : sv_err(SV_ENOMEM, "out of memory");
	size_t i;
	json_t *h;
	json_array_foreach(arr, i, h)
	{
		char field[96];
		snprintf(field, sizeof(field), "hooks.%s[%zu]", kind, i);
		if (rc || (rc = run_hook(h, field, state_json)))
			break;
	}
	free(state_json);
	json_decref(st);
	json_decref(hooks);
	return rc;
}
