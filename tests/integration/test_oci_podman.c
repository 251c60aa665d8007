/* podman runs containers in smartvm VMs through smartvm-oci (--runtime),
 * on a busybox image imported offline, with its storage, run state and
 * smartvm-oci's state all under this test's directory: output, exit codes,
 * stdin (-i), a terminal (-t), `podman stop` (also of a process that
 * ignores SIGTERM) and `podman kill [-s]`, `podman exec`, `podman ps`
 * states, `podman logs`, and nothing left behind (containers, state dirs, processes, mounts, loop devices).
 * The same commands under runc show what podman expects.
 *
 * smartvm-oci's state root stays the default one (/run/smartvm-oci): podman
 * 4.3 runs its exit command (`podman container cleanup`, which deletes the
 * container) without the --runtime-flag options, so a --root given that
 * way would not reach the delete. The test checks that the root holds no
 * more entries at the end than at the start. The host needs
 * --ulimit nofile/nproc below podman's defaults and cgroupfs (hybrid
 * cgroups: crun refuses them, runc works). */
#include "svtest.h"
#include "ocifixture.h"

#include "util/spawn.h"
#include <glob.h>
#include <jansson.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PODMAN_TIMEOUT_MS 300000
#define IMAGE "localhost/smartvm-oci-test:1"
#define DEFAULT_ROOT "/run/smartvm-oci"

static svo_env env;
static char *store, *run_root, *tmp_dir, *data_flag;
static int root_entries_before;

static int run_podman(bool smartvm, const char *const *args, const char *stdin_data, char **out, char **err)
{
	const char *argv[64] = {"podman", "--root",	      store,	  "--runroot",
				run_root, "--tmpdir",	      tmp_dir,	  "--storage-driver",
				"vfs",	  "--cgroup-manager", "cgroupfs", "--events-backend",
				"none"};
	size_t n = 13;
	if (smartvm) {
		const char *rt[] = {"--runtime",      svo_program(), "--runtime-flag", data_flag,
				    "--runtime-flag", "vmm=qemu",    "--runtime-flag", "accel=tcg"};
		for (size_t i = 0; i < sizeof(rt) / sizeof(*rt); i++)
			argv[n++] = rt[i];
	} else {
		argv[n++] = "--runtime";
		argv[n++] = "runc";
	}
	for (size_t i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	int code = -1;
	*out = *err = NULL;
	if (sv_run(argv, stdin_data, PODMAN_TIMEOUT_MS, &code, out, err) != 0)
		fail_msg("running podman: %s", sv_last_error());
	if (!*out)
		*out = strdup("");
	if (!*err)
		*err = strdup("");
	return code;
}

/* podman run --rm --network none --ulimit ... [opts] IMAGE cmd... */
static int podman_run(bool smartvm, const char *const *opts, const char *const *cmd, const char *stdin_data,
		      char **out, char **err)
{
	const char *args[40] = {"run",	    "--network",      "none", "--ulimit", "nofile=1024:1024",
				"--ulimit", "nproc=1024:1024"};
	size_t n = 7;
	for (size_t i = 0; opts && opts[i]; i++)
		args[n++] = opts[i];
	args[n++] = IMAGE;
	for (size_t i = 0; cmd[i] && n < 39; i++)
		args[n++] = cmd[i];
	args[n] = NULL;
	return run_podman(smartvm, args, stdin_data, out, err);
}

static void podman_ok(const char *const *args, char **out)
{
	char *o, *e;
	int code = run_podman(true, args, NULL, &o, &e);
	if (code != 0)
		fail_msg("podman %s: exit %d: %s", args[0], code, e);
	free(e);
	if (out)
		*out = o;
	else
		free(o);
}

static char *under(const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", env.dir, name) > 0);
	return p;
}

static int setup(void **state)
{
	(void)state;
	svo_env_init(&env);
	svo_need_image(&env);
	store = under("store");
	run_root = under("run");
	tmp_dir = under("podman-tmp");
	root_entries_before = svt_dir_entries(DEFAULT_ROOT);
	assert_true(asprintf(&data_flag, "data-dir=%s", env.data) > 0);
	/* The image: the bundle's busybox tree as a tar, imported offline. */
	char *tar = under("image.tar"), *out = NULL, *err = NULL;
	int code = -1;
	const char *tar_argv[] = {"tar", "-C", env.rootfs, "-cf", tar, ".", NULL};
	assert_int_equal(sv_run(tar_argv, NULL, 60000, &code, NULL, &err), 0);
	if (code != 0)
		fail_msg("tar: %s", err);
	free(err);
	const char *import[] = {"import", tar, IMAGE, NULL};
	if (run_podman(true, import, NULL, &out, &err) != 0)
		fail_msg("podman import: %s", err);
	free(out);
	free(err);
	free(tar);
	return 0;
}

/* Run last: nothing of any container may be left. podman knows none,
 * smartvm-oci's state root has no more entries than before, no process,
 * mount or loop device names the test's directory. (A test, not the group
 * teardown: cmocka does not fail a program whose teardown fails.) */
static void test_nothing_is_left_behind(void **state)
{
	(void)state;
	char *out;
	const char *ps[] = {"ps", "-a", "-q", NULL};
	podman_ok(ps, &out);
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(svt_dir_entries(DEFAULT_ROOT), root_entries_before);
	svt_assert_no_processes_with(env.dir);
	char *mounts = NULL;
	size_t len;
	FILE *f = fopen("/proc/self/mountinfo", "r");
	assert_non_null(f);
	while (getline(&mounts, &len, f) > 0)
		if (strstr(mounts, env.dir))
			fail_msg("a mount is left: %s", mounts);
	fclose(f);
	free(mounts);
	glob_t g;
	if (glob("/sys/block/loop*/loop/backing_file", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			char *backing = NULL;
			size_t n = 0;
			FILE *b = fopen(g.gl_pathv[i], "r");
			if (b && getline(&backing, &n, b) > 0 && strstr(backing, env.dir))
				fail_msg("a loop device is left: %s", backing);
			if (b)
				fclose(b);
			free(backing);
		}
		globfree(&g);
	}
}

/* podman's storage goes with the directory. */
static int teardown(void **state)
{
	(void)state;
	const char *rmi[] = {"rmi", "-a", "-f", NULL};
	char *o, *e;
	run_podman(true, rmi, NULL, &o, &e);
	free(o);
	free(e);
	svo_env_done(&env);
	free(store);
	free(run_root);
	free(tmp_dir);
	free(data_flag);
	return 0;
}

static void test_echo_prints_hi_as_under_runc(void **state)
{
	(void)state;
	const char *const rm[] = {"--rm", NULL}, *const cmd[] = {"echo", "hi", NULL};
	char *out, *err;
	assert_int_equal(podman_run(false, rm, cmd, NULL, &out, &err), 0);
	assert_string_equal(out, "hi\n");
	free(out);
	free(err);
	int code = podman_run(true, rm, cmd, NULL, &out, &err);
	if (code != 0)
		fail_msg("podman run: exit %d: %s", code, err);
	assert_string_equal(out, "hi\n");
	free(out);
	free(err);
}

static void test_exit_code_passes_through(void **state)
{
	(void)state;
	const char *const rm[] = {"--rm", NULL}, *const cmd[] = {"sh", "-c", "echo out; exit 7", NULL};
	char *out, *err;
	assert_int_equal(podman_run(false, rm, cmd, NULL, &out, &err), 7);
	free(out);
	free(err);
	assert_int_equal(podman_run(true, rm, cmd, NULL, &out, &err), 7);
	assert_string_equal(out, "out\n");
	free(out);
	free(err);
}

static void test_stdin_reaches_the_process_with_i(void **state)
{
	(void)state;
	const char *const opts[] = {"--rm", "-i", NULL}, *const cmd[] = {"cat", NULL};
	char *out, *err;
	assert_int_equal(podman_run(true, opts, cmd, "piped\nlines\n", &out, &err), 0);
	assert_string_equal(out, "piped\nlines\n");
	free(out);
	free(err);
}

static void test_terminal_with_t(void **state)
{
	(void)state;
	const char *const opts[] = {"--rm", "-t", NULL}, *const cmd[] = {"sh", "-c", "tty; exit 3", NULL};
	char *out, *err;
	assert_int_equal(podman_run(true, opts, cmd, NULL, &out, &err), 3);
	/* The guest's terminal: its line discipline turns \n into \r\n. */
	assert_int_equal(strncmp(out, "/dev/pts/", 9), 0);
	assert_non_null(strstr(out, "\r\n"));
	free(out);
	free(err);
}

/* podman inspect NAME's exit code. */
static int exit_code_of(const char *name)
{
	char *out;
	const char *args[] = {"inspect", "--format", "{{.State.ExitCode}}", name, NULL};
	podman_ok(args, &out);
	int code = atoi(out);
	free(out);
	return code;
}

static void test_stop_sends_term_and_kill_sends_kill(void **state)
{
	(void)state;
	const char *const detached[] = {"-d", "--name", "svstop", NULL}, *const cmd[] = {"sleep", "300",
											 NULL};
	char *out, *err;
	assert_int_equal(podman_run(true, detached, cmd, NULL, &out, &err), 0);
	free(out);
	free(err);
	const char *status[] = {"inspect", "--format", "{{.State.Status}}", "svstop", NULL};
	podman_ok(status, &out);
	assert_string_equal(out, "running\n");
	free(out);
	const char *stop[] = {"stop", "-t", "5", "svstop", NULL};
	podman_ok(stop, NULL);
	assert_int_equal(exit_code_of("svstop"), 128 + 15);
	const char *rm[] = {"rm", "svstop", NULL};
	podman_ok(rm, NULL);

	const char *const detached2[] = {"-d", "--name", "svkill", NULL};
	assert_int_equal(podman_run(true, detached2, cmd, NULL, &out, &err), 0);
	free(out);
	free(err);
	const char *kill[] = {"kill", "-s", "KILL", "svkill", NULL};
	podman_ok(kill, NULL);
	const char *wait[] = {"wait", "svkill", NULL};
	podman_ok(wait, &out);
	assert_string_equal(out, "137\n");
	free(out);
	const char *rm2[] = {"rm", "svkill", NULL};
	podman_ok(rm2, NULL);
}


/* podman inspect NAME's status (created, running, exited). */
static char *status_of(const char *name)
{
	char *out;
	const char *args[] = {"inspect", "--format", "{{.State.Status}}", name, NULL};
	podman_ok(args, &out);
	return out;
}

/* NAME's State in podman ps -a --format json (podman 4.3's {{.State}}
 * template is the human "Up 2 seconds"). */
static char *ps_state_of(const char *name)
{
	char *out;
	const char *args[] = {"ps", "-a", "--format", "json", NULL};
	podman_ok(args, &out);
	json_t *a = json_loads(out, 0, NULL), *c;
	size_t i;
	char *state = NULL;
	json_array_foreach(a, i, c)
	{
		if (!strcmp(json_string_value(json_array_get(json_object_get(c, "Names"), 0)) ?: "", name))
			state = strdup(json_string_value(json_object_get(c, "State")) ?: "(no State)");
	}
	if (!state)
		fail_msg("podman ps -a has no %s: %s", name, out);
	json_decref(a);
	free(out);
	return state;
}

/* podman logs NAME holds want, within PODMAN_TIMEOUT_MS (the guest writes
 * at its own pace under TCG). */
static void logs_hold(const char *name, const char *want)
{
	long long until = sv_now_ms() + PODMAN_TIMEOUT_MS;
	char *out = NULL;
	const char *logs[] = {"logs", name, NULL};
	for (;;) {
		podman_ok(logs, &out);
		if (strstr(out, want) || sv_now_ms() > until)
			break;
		free(out);
		usleep(500000);
	}
	if (!strstr(out, want))
		fail_msg("podman logs %s: \"%s\" has no \"%s\"", name, out, want);
	free(out);
}

/* podman ps states (created, running, exited), podman exec (output, exit
 * code, stdin, a terminal), podman pause/unpause, podman logs, and podman
 * kill -s with a signal the process handles. */
static void test_exec_logs_ps_states_and_kill_s(void **state)
{
	(void)state;
	const char *create[] = {"create", "--name", "svexec", "--network", "none", "--ulimit", "nofile=1024:1024",
				"--ulimit", "nproc=1024:1024", IMAGE, "sh", "-c",
				"echo logged; trap 'echo got-usr1; exit 5' USR1; while true; do sleep 1; done",
				NULL};
	podman_ok(create, NULL);
	char *st = status_of("svexec");
	assert_string_equal(st, "created\n");
	free(st);
	st = ps_state_of("svexec");
	assert_string_equal(st, "created");
	free(st);
	const char *start[] = {"start", "svexec", NULL};
	podman_ok(start, NULL);
	st = status_of("svexec");
	assert_string_equal(st, "running\n");
	free(st);
	st = ps_state_of("svexec");
	assert_string_equal(st, "running");
	free(st);
	char *out, *err;

	const char *ex[] = {"exec", "svexec", "sh", "-c", "echo in-exec $HOME; exit 4", NULL};
	assert_int_equal(run_podman(true, ex, NULL, &out, &err), 4);
	assert_string_equal(out, "in-exec /root\n");
	free(out);
	free(err);
	const char *ex_i[] = {"exec", "-i", "svexec", "cat", NULL};
	assert_int_equal(run_podman(true, ex_i, "to exec\n", &out, &err), 0);
	assert_string_equal(out, "to exec\n");
	free(out);
	free(err);
	const char *ex_t[] = {"exec", "-t", "svexec", "sh", "-c", "tty; exit 2", NULL};
	assert_int_equal(run_podman(true, ex_t, NULL, &out, &err), 2);
	assert_int_equal(strncmp(out, "/dev/pts/", 9), 0);
	free(out);
	free(err);
	const char *ex_missing[] = {"exec", "svexec", "/bin/no-such", NULL};
	assert_int_equal(run_podman(true, ex_missing, NULL, &out, &err), 127);
	free(out);
	free(err);

	/* podman pause/unpause: smartvm-oci pause/resume of the VM. */
	const char *pause[] = {"pause", "svexec", NULL}, *unpause[] = {"unpause", "svexec", NULL};
	podman_ok(pause, NULL);
	st = status_of("svexec");
	assert_string_equal(st, "paused\n");
	free(st);
	assert_int_not_equal(run_podman(true, ex, NULL, &out, &err), 0); /* exec into a paused one */
	free(out);
	free(err);
	podman_ok(unpause, NULL);
	st = status_of("svexec");
	assert_string_equal(st, "running\n");
	free(st);

	logs_hold("svexec", "logged\n");
	const char *kill[] = {"kill", "-s", "USR1", "svexec", NULL};
	podman_ok(kill, NULL);
	const char *wait[] = {"wait", "svexec", NULL};
	podman_ok(wait, &out);
	assert_string_equal(out, "5\n");
	free(out);
	logs_hold("svexec", "got-usr1\n");
	st = status_of("svexec");
	assert_string_equal(st, "exited\n");
	free(st);
	st = ps_state_of("svexec");
	assert_string_equal(st, "exited");
	free(st);
	/* exec into an exited container is refused. */
	const char *late[] = {"exec", "svexec", "true", NULL};
	assert_int_not_equal(run_podman(true, late, NULL, &out, &err), 0);
	free(out);
	free(err);
	const char *rm[] = {"rm", "svexec", NULL};
	podman_ok(rm, NULL);
}

/* podman stop of a process that ignores SIGTERM: SIGKILL after --time, so
 * the container ends killed (137), as under runc. */
static void test_stop_kills_a_process_that_ignores_term(void **state)
{
	(void)state;
	const char *const detached[] = {"-d", "--name", "svignore", NULL},
			  *const cmd[] = {"sh", "-c", "trap '' TERM; echo ready; while true; do sleep 1; done",
					  NULL};
	char *out, *err;
	assert_int_equal(podman_run(true, detached, cmd, NULL, &out, &err), 0);
	free(out);
	free(err);
	logs_hold("svignore", "ready\n"); /* the trap is set */
	const char *stop[] = {"stop", "-t", "3", "svignore", NULL};
	podman_ok(stop, NULL);
	assert_int_equal(exit_code_of("svignore"), 137);
	const char *rm[] = {"rm", "svignore", NULL};
	podman_ok(rm, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_echo_prints_hi_as_under_runc),
	    cmocka_unit_test(test_exit_code_passes_through),
	    cmocka_unit_test(test_stdin_reaches_the_process_with_i),
	    cmocka_unit_test(test_terminal_with_t),
	    cmocka_unit_test(test_stop_sends_term_and_kill_sends_kill),
	    cmocka_unit_test(test_exec_logs_ps_states_and_kill_s),
	    cmocka_unit_test(test_stop_kills_a_process_that_ignores_term),
	    cmocka_unit_test(test_nothing_is_left_behind),
	};
	if (!svt_is_root())
		return svt_skip_program(SVT_NEED_ROOT, "podman with smartvm-oci runs as root here");
	if (access("/usr/bin/podman", X_OK) != 0 || access("/usr/sbin/runc", X_OK) != 0)
		return svt_skip_program(SVT_NEED_PACKAGE,
					"podman or runc is not installed (make deps installs them)");
	return svt_run_group(tests, setup, teardown);
}
