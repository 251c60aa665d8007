/* Real VMs end to end through the smartvm CLI (QEMU, TCG forced):
 * `smartvm image build-minimal` imports the test image, `smartvm run --image
 * minimal -- CMD` prints exactly CMD's output and exits with its status, and
 * Ctrl-C powers the guest off. No networking here (the library tests cover
 * it inside private namespaces). */
#include "svtest.h"
#include "realvm_fixture.h"

#include "util/file.h"
#include "util/spawn.h"
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define E svr_shared_cli

static void need_image(void) { svr_cli_image(E.data_dir); }

/* `smartvm run ... -- cmd`: *out and *err are copies the caller frees. */
static int run_cmd(const char *const *cmd, char **out, char **err)
{
	int code = svr_cli_run(&E, NULL, cmd);
	*out = strdup(E.out ? E.out : "");
	*err = strdup(E.err ? E.err : "");
	return code;
}

static void test_run_prints_only_the_command_output(void **state)
{
	(void)state;
	need_image();
	char *out = NULL, *err = NULL;
	int code = run_cmd((const char *[]){"echo", "hi", NULL}, &out, &err);
	assert_int_equal(code, 0);
	assert_string_equal(out, "hi\n");
	assert_string_equal(err, "");
	assert_int_equal(svt_dir_entries(E.runtime_dir), 0);
	free(out);
	free(err);
}

static void test_run_exits_with_the_command_status_and_keeps_arguments_exact(void **state)
{
	(void)state;
	need_image();
	char *out = NULL, *err = NULL;
	int code = run_cmd(
	    (const char *[]){"sh", "-c", "printf '[%s]' \"$1\"; exit 7", "sh", "two  words 'q' \"d\"", NULL},
	    &out, &err);
	assert_int_equal(code, 7);
	assert_string_equal(out, "[two  words 'q' \"d\"]");
	assert_int_equal(svt_dir_entries(E.runtime_dir), 0);
	free(out);
	free(err);
}

/* QEMU runs in the VM directory: a relative --kernel and --initrd still mean
 * the caller's ("./" + the absolute path from "/"). */
static void test_relative_kernel_and_initrd_are_taken_from_the_callers_cwd(void **state)
{
	(void)state;
	need_image();
	const svq_image *img = svq_image_or_skip();
	char *kernel = NULL, *initrd = NULL, *cwd = getcwd(NULL, 0);
	assert_true(asprintf(&kernel, ".%s", img->kernel) > 0 && asprintf(&initrd, ".%s", img->initrd) > 0);
	const char *args[] = {"run",  E.data_flag, E.runtime_flag, "--image",  "minimal", "--kernel",
			      kernel, "--initrd",  initrd,	   "--vmm",    "qemu",	  "--accel",
			      "tcg",  "--",	   "echo",	   "relative", NULL};
	char *out = NULL, *err = NULL;
	assert_int_equal(chdir("/"), 0);
	int code = svt_run_cli(args, NULL, &out, &err);
	assert_int_equal(chdir(cwd), 0);
	if (code != 0)
		fail_msg("run exited %d: %s", code, err);
	assert_string_equal(out, "relative\n");
	assert_int_equal(svt_dir_entries(E.runtime_dir), 0);
	free(out);
	free(err);
	free(kernel);
	free(initrd);
	free(cwd);
}

static void test_unknown_vmm_is_a_usage_error(void **state)
{
	(void)state;
	const char *args[] = {"run", E.runtime_flag, "--kernel", "/nonexistent", "--vmm", "xen",
			      "--",  "true",	     NULL};
	char *out = NULL, *err = NULL;
	assert_int_equal(svt_run_cli(args, NULL, &out, &err), 2);
	svt_assert_contains(err, "smartvm run: --vmm: \"xen\" is not one of firecracker, qemu, auto");
	free(out);
	free(err);
}

static void test_unknown_accel_is_a_usage_error(void **state)
{
	(void)state;
	const char *args[] = {"run", E.runtime_flag, "--kernel", "/nonexistent", "--accel", "hvf", NULL};
	char *out = NULL, *err = NULL;
	assert_int_equal(svt_run_cli(args, NULL, &out, &err), 2);
	svt_assert_contains(err, "smartvm run: --accel: \"hvf\" is not one of kvm, tcg, auto");
	free(out);
	free(err);
}

static void test_dash_dash_without_a_command_is_a_usage_error(void **state)
{
	(void)state;
	const char *args[] = {"run", E.runtime_flag, "--image", "minimal", "--", NULL};
	char *out = NULL, *err = NULL;
	assert_int_equal(svt_run_cli(args, NULL, &out, &err), 2);
	svt_assert_contains(err, "smartvm run: \"--\" must be followed by a command to run in the guest");
	free(out);
	free(err);
}

/* Ctrl-C: the command gets it as SIGINT through the guest agent (130, as
 * with docker run), that is smartvm's exit status, and the guest powers
 * off; nothing is left behind. (Without an agent the guest powers off at
 * once and the command ends by SIGTERM, but smartvm still exits 130.) */
static void test_ctrl_c_powers_the_guest_off(void **state)
{
	(void)state;
	need_image();
	int pipefd[2];
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	const char *argv[] = {svt_cli(),   "run",
			      E.data_flag, E.runtime_flag,
			      "--image",   "minimal",
			      "--vmm",	   "qemu",
			      "--accel",   "tcg",
			      "--",	   "sh",
			      "-c",	   "echo ready; exec sleep 600",
			      NULL};
	sv_spawn_opts so = {.argv = argv, .stdin_fd = -1, .stdout_fd = pipefd[1], .stderr_fd = 2};
	pid_t pid;
	assert_int_equal(sv_spawn(&so, &pid, NULL), 0);
	close(pipefd[1]);
	char buf[256] = "";
	size_t len = 0;
	long long deadline = sv_now_ms() + 90000;
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	while (!strstr(buf, "ready") && sv_now_ms() < deadline && len < sizeof(buf) - 1) {
		ssize_t r = read(pipefd[0], buf + len, sizeof(buf) - 1 - len);
		if (r > 0)
			buf[len += (size_t)r] = '\0';
		else
			usleep(20000);
	}
	if (!strstr(buf, "ready")) {
		kill(pid, SIGKILL);
		sv_reap(pid, 10000, NULL);
		fail_msg("the guest command never printed ready (got \"%s\")", buf);
	}
	assert_int_equal(kill(pid, SIGINT), 0);
	int status = 0;
	assert_int_equal(sv_reap(pid, 30000, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 128 + SIGINT);
	close(pipefd[0]);
	assert_int_equal(svt_dir_entries(E.runtime_dir), 0);
	svt_assert_no_processes_with(E.runtime_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_run_prints_only_the_command_output),
	    cmocka_unit_test(test_run_exits_with_the_command_status_and_keeps_arguments_exact),
	    cmocka_unit_test(test_relative_kernel_and_initrd_are_taken_from_the_callers_cwd),
	    cmocka_unit_test(test_unknown_vmm_is_a_usage_error),
	    cmocka_unit_test(test_unknown_accel_is_a_usage_error),
	    cmocka_unit_test(test_dash_dash_without_a_command_is_a_usage_error),
	    cmocka_unit_test(test_ctrl_c_powers_the_guest_off),
	};
	return svt_run_group(tests, svr_shared_cli_setup, svr_shared_cli_teardown);
}
