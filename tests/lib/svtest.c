/* Shared test fixtures (see svtest.h). */
#include "svtest.h"
#include "leftovers.h"

#include "util/file.h"
#include "util/spawn.h"
#include "util/strv.h"
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <smartvm/manager.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

char *svt_tmpdir(void)
{
	char *path = strdup("/tmp/svtest.XXXXXX");
	assert_non_null(path);
	assert_non_null(mkdtemp(path));
	return path;
}

void svt_rm_tmpdir(char *path)
{
	if (path)
		sv_rm_rf(path);
	free(path);
}

char *svt_write(const char *dir, const char *name, const char *text)
{
	char *path = sv_path_join(dir, name);
	assert_non_null(path);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static const char *env_or_fail(const char *name)
{
	const char *v = getenv(name);
	if (!v)
		fail_msg("%s is not set: run the tests through meson test", name);
	return v;
}

const char *svt_fake_firecracker(void) { return env_or_fail("SMARTVM_FAKE_FIRECRACKER"); }
const char *svt_cli(void) { return env_or_fail("SMARTVM_CLI"); }
const char *svt_source_root(void) { return env_or_fail("SMARTVM_SOURCE_ROOT"); }

/* Counts (and with sig, signals) the processes whose command line holds
 * needle. */
static int parent_of(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	char *text = NULL;
	size_t len = 0;
	int ppid = -1;
	if (sv_read_file(path, 4096, &text, &len) == 0) {
		const char *end = strrchr(text, ')'); /* the name may hold anything */
		if (end)
			sscanf(end + 1, " %*c %d", &ppid);
		free(text);
	}
	return ppid;
}

static int processes_with(const char *needle, int sig, bool say)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	int count = 0;
	pid_t self = getpid();
	struct dirent *de;
	while ((de = readdir(d))) {
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid <= 0 || pid == self)
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		char *text = NULL;
		size_t len = 0;
		if (sv_read_file(path, 1 << 16, &text, &len) != 0)
			continue;
		for (size_t i = 0; i < len; i++)
			if (text[i] == '\0')
				text[i] = ' ';
		/* Zombies have an empty cmdline and don't count. */
		if (len && strstr(text, needle)) {
			count++;
			if (sig)
				kill(pid, sig);
			if (say)
				print_message("left: pid %d (parent %d): %s\n", (int)pid, parent_of(pid), text);
		}
		free(text);
	}
	closedir(d);
	return count;
}

int svt_count_processes_with(const char *needle) { return processes_with(needle, 0, false); }

int svt_kill_processes_with(const char *needle) { return processes_with(needle, SIGKILL, false); }

void svt_assert_no_processes_with(const char *needle)
{
	int n = processes_with(needle, 0, true);
	if (n)
		fail_msg("%d process(es) with \"%s\" in their command line left", n, needle);
}

int svt_dir_entries(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

int svt_vm_dirs_left(const char *runtime_dir)
{
	DIR *d = opendir(runtime_dir);
	if (!d)
		return 0;
	int n = 0;
	for (struct dirent *de; (de = readdir(d));)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    !svt_is_end_record_dir(runtime_dir, de->d_name))
			n++;
	closedir(d);
	return n;
}

int svt_run_cli(const char *const *args, const char *const *extra_env, char **out, char **err)
{
	return svt_run_program(svt_cli(), args, extra_env, out, err);
}

int svt_run_program(const char *program, const char *const *args, const char *const *extra_env, char **out,
		    char **err)
{
	sv_strv_builder argv = {0};
	sv_strv_push(&argv, program);
	for (size_t i = 0; args[i]; i++)
		sv_strv_push(&argv, args[i]);
	char **argvv = NULL;
	assert_int_equal(sv_strv_finish(&argv, &argvv), 0);

	/* sv_run inherits our environment; extra variables are set around it. */
	char **saved = NULL;
	size_t n_extra = 0;
	while (extra_env && extra_env[n_extra])
		n_extra++;
	saved = calloc(n_extra + 1, sizeof(char *));
	for (size_t i = 0; i < n_extra; i++) {
		char *kv = strdup(extra_env[i]);
		char *eq = strchr(kv, '=');
		*eq = '\0';
		const char *old = getenv(kv);
		saved[i] = old ? strdup(old) : NULL;
		setenv(kv, eq + 1, 1);
		free(kv);
	}
	int code = -1;
	int rc = sv_run((const char *const *)argvv, NULL, 120000, &code, out, err);
	for (size_t i = 0; i < n_extra; i++) {
		char *kv = strdup(extra_env[i]);
		*strchr(kv, '=') = '\0';
		if (saved[i])
			setenv(kv, saved[i], 1);
		else
			unsetenv(kv);
		free(saved[i]);
		free(kv);
	}
	free(saved);
	sv_strv_free(argvv);
	assert_int_equal(rc, 0);
	return code;
}

int svt_run_cli_dirs_v(const char *data_dir, const char *runtime_dir, const char *const *extra_env,
		       char **out, char **err, va_list ap)
{
	const char *args[64];
	size_t n = 0;
	for (const char *a; (a = va_arg(ap, const char *));) {
		if (n == 58)
			fail_msg("svt_run_cli_dirs_v: more than 58 arguments");
		args[n++] = a;
	}
	args[n++] = "--data-dir";
	args[n++] = data_dir;
	args[n++] = "--runtime-dir";
	args[n++] = runtime_dir;
	args[n] = NULL;
	free(*out);
	free(*err);
	*out = *err = NULL;
	int code = svt_run_cli(args, extra_env, out, err);
	if (!*out)
		*out = strdup("");
	if (!*err)
		*err = strdup("");
	return code;
}

bool svt_private_netns(void)
{
	if (!svt_is_root())
		return false;
	if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s\n", strerror(errno));
		exit(1);
	}
	return true;
}

bool svt_is_root(void) { return geteuid() == 0; }

void svt__assert_contains(const char *haystack, const char *needle, const char *file, int line)
{
	if (haystack && needle && strstr(haystack, needle))
		return;
	fail_msg("%s:%d: expected to find\n  \"%s\"\nin\n  \"%s\"", file, line, needle ? needle : "(null)",
		 haystack ? haystack : "(null)");
}

char *svt_write_data(const char *dir, const char *name, size_t size)
{
	char *path = sv_path_join(dir, name);
	int fd = path ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) : -1;
	if (fd < 0)
		fail_msg("creating %s/%s: %s", dir, name, strerror(errno));
	char block[65536];
	memset(block, 'x', sizeof(block));
	for (size_t done = 0; done < size; done += sizeof(block))
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
			fail_msg("writing %s: %s", path, strerror(errno));
	close(fd);
	return path;
}

char *svt_small_tmpfs(const char *dir, const char *name, const char *size)
{
	if (!svt_is_root())
		svt_skip(SVT_NEED_ROOT, "needs root to mount a tmpfs");
	char *mnt = sv_path_join(dir, name), *opts = NULL;
	if (!mnt || asprintf(&opts, "size=%s,mode=0700", size) < 0)
		fail_msg("out of memory");
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mkdir(mnt, 0700) != 0 || mount("tmpfs", mnt, "tmpfs", 0, opts) != 0)
		fail_msg("a %s tmpfs at %s: %s", size, mnt, strerror(errno));
	free(opts);
	return mnt;
}

int svt_vm_state_pid(const char *runtime_dir, const char *id, const char *key)
{
	char *path = NULL;
	if (asprintf(&path, "%s/%s/state.json", runtime_dir, id) < 0)
		fail_msg("out of memory");
	json_t *st = json_load_file(path, 0, NULL);
	if (!st)
		fail_msg("cannot read %s", path);
	int pid = (int)json_integer_value(json_object_get(st, key));
	json_decref(st);
	if (pid <= 0)
		fail_msg("%s: no %s", path, key);
	free(path);
	return pid;
}

/* ---- skipping (see svtest.h) ---- */

#define SVT_EXIT_SKIP 77 /* meson's "skipped" exit code */

static int skipped;

/* What a CI machine provides: it runs `make check` as root, which installs
 * every package the tests use (QEMU, busybox, the cloud kernel for the
 * image) and may create network namespaces. So in CI only a property of the
 * hardware or the host kernel is a reason to skip; anything else is a test
 * that CI silently stopped running, and fails. */
static bool svt_ci_provides(svt_need need)
{
	switch (need) {
	case SVT_NEED_ROOT:
	case SVT_NEED_QEMU:
	case SVT_NEED_IMAGE:
	case SVT_NEED_NETNS:
	case SVT_NEED_FAULTS:
	case SVT_NEED_PACKAGE:
		return true;
	case SVT_NEED_HOST:
		return false;
	}
	return true;
}

bool svt_in_ci(void)
{
	const char *ci = getenv("CI");
	return ci && *ci && strcmp(ci, "0") != 0 && strcmp(ci, "false") != 0;
}

static bool must_not_skip(svt_need need) { return svt_in_ci() && svt_ci_provides(need); }

void svt__skip(svt_need need, const char *file, int line, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (must_not_skip(need))
		fail_msg("%s:%d: would skip (%s), but CI=true and CI provides what this test needs", file,
			 line, why);
	print_message("skipped: %s\n", why);
	skipped++;
	_skip(file, line);
}

int svt_skip_program(svt_need need, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (must_not_skip(need)) {
		fprintf(stderr, "would skip every test (%s), but CI=true and CI provides what they need\n",
			why);
		return 1;
	}
	fprintf(stderr, "skipped: %s\n", why);
	return SVT_EXIT_SKIP;
}

/* The group teardown, run through a wrapper that notices when it did not
 * finish (a failed assert jumps out of it) or returned non-zero. */
static CMFixtureFunction group_teardown;
static bool group_teardown_failed;

static int checked_group_teardown(void **state)
{
	group_teardown_failed = true;
	int rc = group_teardown(state);
	group_teardown_failed = rc != 0;
	return rc;
}

int svt__run_group(const char *name, const struct CMUnitTest *tests, size_t n, CMFixtureFunction setup,
		   CMFixtureFunction teardown)
{
	group_teardown = teardown;
	group_teardown_failed = false;
	int failed = _cmocka_run_group_tests(name, tests, n, setup, teardown ? checked_group_teardown : NULL);
	if (group_teardown_failed) {
		fprintf(stderr, "svtest: the group teardown of %s failed\n", name);
		failed++;
	}
	return svt__exit_code(failed);
}

int svt__exit_code(int failed)
{
	if (failed)
		return 1;
	return skipped ? SVT_EXIT_SKIP : 0;
}
