/* `smartvm run -- CMD` on the minimal image goes through the guest agent
 * (QEMU, TCG): stdin with -i, a terminal with -t, stdout and stderr apart,
 * the shell's exit statuses. The flags' usage errors need no VM. */
#include "svtest.h"
#include "qemu_fixture.h"

#include "util/spawn.h"
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *data_dir, *runtime_dir, *data_flag, *runtime_flag;

static int setup(void **state)
{
	(void)state;
	data_dir = svt_tmpdir();
	runtime_dir = svt_tmpdir();
	if (asprintf(&data_flag, "--data-dir=%s", data_dir) < 0 ||
	    asprintf(&runtime_flag, "--runtime-dir=%s", runtime_dir) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(svt_vm_dirs_left(runtime_dir), 0);
	svt_rm_tmpdir(data_dir);
	svt_rm_tmpdir(runtime_dir);
	free(data_flag);
	free(runtime_flag);
	return 0;
}

static void need_image(void)
{
	static bool imported;
	svq_image_or_skip();
	if (imported)
		return;
	const char *dir = getenv("SMARTVM_TEST_IMAGE_DIR");
	if (!dir || !*dir)
		dir = "/var/tmp/smartvm-test-images";
	const char *args[] = {"image", "build-minimal", "--cache-dir", dir, data_flag, NULL};
	char *out = NULL, *err = NULL;
	if (svt_run_cli(args, NULL, &out, &err) != 0)
		fail_msg("image build-minimal: %s", err);
	free(out);
	free(err);
	imported = true;
}

/* smartvm run <flags...> --image minimal -- <cmd...>, stdin from stdin_data. */
static int run(const char *const *flags, const char *const *cmd, const char *stdin_data, char **out,
	       char **err)
{
	const char *argv[40] = {svt_cli(), "run",   data_flag, runtime_flag, "--image",
				"minimal", "--vmm", "qemu",    "--accel",    "tcg"};
	size_t n = 10;
	for (size_t i = 0; flags && flags[i]; i++)
		argv[n++] = flags[i];
	argv[n++] = "--";
	for (size_t i = 0; cmd[i] && n < 39; i++)
		argv[n++] = cmd[i];
	argv[n] = NULL;
	int code = -1;
	*out = *err = NULL;
	if (sv_run(argv, stdin_data, 180000, &code, out, err) != 0)
		fail_msg("running the CLI: %s", sv_last_error());
	if (!*out)
		*out = strdup("");
	if (!*err)
		*err = strdup("");
	return code;
}

static void test_stdin_reaches_the_command_with_i(void **state)
{
	(void)state;
	need_image();
	char *out, *err;
	int code =
	    run((const char *const[]){"-i", NULL}, (const char *const[]){"cat", NULL}, "data\n", &out, &err);
	assert_int_equal(code, 0);
	assert_string_equal(out, "data\n");
	assert_string_equal(err, "");
	free(out);
	free(err);
}

static void test_stdout_and_stderr_apart_and_the_exit_status(void **state)
{
	(void)state;
	need_image();
	char *out, *err;
	int code = run(NULL, (const char *const[]){"sh", "-c", "echo to-out; echo to-err >&2; exit 5", NULL},
		       NULL, &out, &err);
	assert_int_equal(code, 5);
	assert_string_equal(out, "to-out\n");
	assert_string_equal(err, "to-err\n");
	free(out);
	free(err);
}

static void test_missing_command_exits_127_and_a_signal_128_plus_n(void **state)
{
	(void)state;
	need_image();
	char *out, *err;
	assert_int_equal(run(NULL, (const char *const[]){"no-such-command-xyz", NULL}, NULL, &out, &err),
			 127);
	svt_assert_contains(err, "no-such-command-xyz: No such file or directory (guest errno 2)\n");
	free(out);
	free(err);
	assert_int_equal(
	    run(NULL, (const char *const[]){"sh", "-c", "kill -TERM $$", NULL}, NULL, &out, &err), 143);
	free(out);
	free(err);
}

static void test_t_gives_the_command_a_terminal(void **state)
{
	(void)state;
	need_image();
	char *out, *err;
	int code =
	    run((const char *const[]){"-t", NULL}, (const char *const[]){"tty", NULL}, NULL, &out, &err);
	assert_int_equal(code, 0);
	svt_assert_contains(out, "/dev/pts/");
	free(out);
	free(err);
}

static void test_i_and_t_need_a_command_in_the_foreground(void **state)
{
	(void)state;
	char *out = NULL, *err = NULL;
	const char *a1[] = {"run", data_flag, runtime_flag, "--kernel", "/nonexistent", "-i", NULL};
	assert_int_equal(svt_run_cli(a1, NULL, &out, &err), 2);
	svt_assert_contains(err, "smartvm run: -i and -t need a command: run ... -i -- CMD\n");
	free(out);
	free(err);
	const char *a2[] = {"run", data_flag, runtime_flag, "--kernel", "/nonexistent",
			    "-d",  "-t",      "--",	    "sh",	NULL};
	assert_int_equal(svt_run_cli(a2, NULL, &out, &err), 2);
	svt_assert_contains(err, "smartvm run: -i and -t need the foreground (not --detach)\n");
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_i_and_t_need_a_command_in_the_foreground),
	    cmocka_unit_test(test_stdin_reaches_the_command_with_i),
	    cmocka_unit_test(test_stdout_and_stderr_apart_and_the_exit_status),
	    cmocka_unit_test(test_missing_command_exits_127_and_a_signal_128_plus_n),
	    cmocka_unit_test(test_t_gives_the_command_a_terminal),
	};
	return svt_run_group(tests, setup, teardown);
}
