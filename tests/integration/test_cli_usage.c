/* The smartvm command line without running a VM: help for every command,
 * usage errors (exit 2), configuration errors (exit 2, naming the field),
 * unknown VM ids (exit 1), and that none of these leaves anything behind. */
#include "svtest.h"

#include "clifixture.h"

#include <smartvm/smartvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/spawn.h"

typedef svt_cli_fixture fixture;

static int setup(void **state)
{
	*state = svt_cli_fixture_new();
	return 0;
}

static int teardown(void **state)
{
	fixture *fx = *state;
	/* Nothing these commands do may leave a VM directory or a process. */
	assert_int_equal(svt_vm_dirs_left(fx->runtime_dir), 0);
	svt_assert_no_processes_with(fx->tmp);
	svt_rm_tmpdir(svt_cli_fixture_free(fx));
	return 0;
}

#define cli svt_cli_run

/* The first line of text (static buffer). */
static const char *first_line(const char *text)
{
	static char line[512];
	size_t n = strcspn(text, "\n");
	snprintf(line, sizeof(line), "%.*s", (int)n, text);
	return line;
}

/* Every command and every flag its help must mention. */
static const struct {
	const char *cmd;
	const char *flags[16];
} commands[] = {
    {"run",
     {"--config", "--kernel", "--initrd", "--boot-args", "--rootfs", "--drive", "--vcpus", "--mem", "--id",
      "--firecracker-bin", "--detach", "--json", "default 1", "default 128"}},
    {"ps", {"--json"}},
    {"inspect", {"ID", "--json"}},
    {"pause", {"ID"}},
    {"resume", {"ID"}},
    {"stop", {"ID", "--timeout", "10"}},
    {"kill", {"ID"}},
    {"logs", {"ID", "-f", "--follow"}},
    {"gc", {"--json"}},
    {"version", {"--json"}},
    {"help", {"COMMAND"}},
};

static void test_main_help_lists_every_command(void **state)
{
	fixture *fx = *state;
	assert_int_equal(cli(fx, "--help", NULL), 0);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char row[64];
		snprintf(row, sizeof(row), "  %s ", commands[i].cmd);
		svt_assert_contains(fx->out, row);
	}
	svt_assert_contains(fx->out, "--data-dir DIR");
	svt_assert_contains(fx->out, "--runtime-dir DIR");
	svt_assert_contains(fx->out, "Exit codes");
	assert_string_equal(fx->err, "");
}

static void test_every_command_help_mentions_every_flag(void **state)
{
	fixture *fx = *state;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		assert_int_equal(cli(fx, commands[i].cmd, "--help", NULL), 0);
		char usage[64];
		snprintf(usage, sizeof(usage), "Usage: smartvm %s", commands[i].cmd);
		svt_assert_contains(fx->out, usage);
		for (size_t j = 0; commands[i].flags[j]; j++)
			svt_assert_contains(fx->out, commands[i].flags[j]);
		svt_assert_contains(fx->out, "--data-dir DIR");
		svt_assert_contains(fx->out, "--runtime-dir DIR");
		svt_assert_contains(fx->out, "  2  usage error");
		assert_string_equal(fx->err, "");
	}
}

static void test_help_command_prints_the_same_as_help_flag(void **state)
{
	fixture *fx = *state;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		assert_int_equal(cli(fx, commands[i].cmd, "-h", NULL), 0);
		char *flag_text = strdup(fx->out);
		assert_int_equal(cli(fx, "help", commands[i].cmd, NULL), 0);
		assert_string_equal(fx->out, flag_text);
		free(flag_text);
	}
}

static void test_missing_command_exits_2(void **state)
{
	fixture *fx = *state;
	const char *args[] = {NULL};
	char *out = NULL, *err = NULL;
	assert_int_equal(svt_run_cli(args, NULL, &out, &err), 2);
	assert_string_equal(first_line(err), "smartvm: missing command");
	free(out);
	free(err);
	(void)fx;
}

static void test_unknown_command_exits_2(void **state)
{
	fixture *fx = *state;
	assert_int_equal(cli(fx, "frobnicate", NULL), 2);
	assert_string_equal(first_line(fx->err), "smartvm: unknown command \"frobnicate\"");
	assert_int_equal(cli(fx, "help", "frobnicate", NULL), 2);
	assert_string_equal(first_line(fx->err), "smartvm help: unknown command \"frobnicate\"");
}

static void test_unknown_flag_exits_2_with_usage(void **state)
{
	fixture *fx = *state;
	assert_int_equal(cli(fx, "ps", "--bogus", NULL), 2);
	assert_string_equal(first_line(fx->err), "smartvm ps: unknown option --bogus");
	svt_assert_contains(fx->err, "Usage: smartvm ps [-a] [--json]");
	assert_string_equal(fx->out, "");

	assert_int_equal(cli(fx, "logs", "-x", "vm1", NULL), 2);
	assert_string_equal(first_line(fx->err), "smartvm logs: unknown option -x");

	assert_int_equal(cli(fx, "run", "--kernel", fx->kernel, "--vcpus=2", "--colour=red", NULL), 2);
	assert_string_equal(first_line(fx->err), "smartvm run: unknown option --colour");
}

static void test_flag_without_its_argument_exits_2(void **state)
{
	fixture *fx = *state;
	assert_int_equal(cli(fx, "stop", "vm1", "--timeout", NULL), 2);
	/* The fixture's --data-dir follows, so getopt takes it as the value: test
	 * the last position with a flag that has no value after it at all. */
	const char *args[] = {"run", "--kernel", NULL};
	char *out = NULL, *err = NULL;
	assert_int_equal(svt_run_cli(args, NULL, &out, &err), 2);
	assert_string_equal(first_line(err), "smartvm run: option --kernel requires an argument");
	free(out);
	free(err);
}

static void test_missing_or_extra_arguments_exit_2(void **state)
{
	fixture *fx = *state;
	const char *needs_id[] = {"inspect", "pause", "resume", "logs", "stop", "kill", "rm", "wait"};
	for (size_t i = 0; i < sizeof(needs_id) / sizeof(needs_id[0]); i++) {
		char expected[128];
		assert_int_equal(cli(fx, needs_id[i], NULL), 2);
		snprintf(expected, sizeof(expected), "smartvm %s: missing VM id (ID)", needs_id[i]);
		assert_string_equal(first_line(fx->err), expected);
		if (i >= 4)
			continue; /* stop, kill, rm and wait take several ids, like docker's */

		assert_int_equal(cli(fx, needs_id[i], "a", "b", NULL), 2);
		snprintf(expected, sizeof(expected), "smartvm %s: unexpected argument \"b\"", needs_id[i]);
		assert_string_equal(first_line(fx->err), expected);
	}
	assert_int_equal(cli(fx, "ps", "extra", NULL), 2);
	assert_string_equal(first_line(fx->err), "smartvm ps: unexpected argument \"extra\"");
	assert_int_equal(cli(fx, "run", "--kernel", fx->kernel, "extra", NULL), 2);
	assert_string_equal(first_line(fx->err), "smartvm run: unexpected argument \"extra\"");
}

static void test_run_needs_config_or_kernel(void **state)
{
	fixture *fx = *state;
	assert_int_equal(cli(fx, "run", "--vcpus", "2", NULL), 2);
	assert_string_equal(
	    first_line(fx->err),
	    "smartvm run: either --config FILE, --kernel PATH or --image BUNDLE_ID is required");
}

static void test_bad_numbers_exit_2_naming_the_flag(void **state)
{
	fixture *fx = *state;
	assert_int_equal(cli(fx, "run", "--kernel", fx->kernel, "--vcpus", "0", NULL), 2);
	assert_string_equal(first_line(fx->err),
			    "smartvm run: --vcpus: \"0\" is not an integer from 1 to 32");
	assert_int_equal(cli(fx, "run", "--kernel", fx->kernel, "--mem", "12x", NULL), 2);
	assert_string_equal(first_line(fx->err),
			    "smartvm run: --mem: \"12x\" is not an integer from 1 to 4294967295");
	assert_int_equal(cli(fx, "run", "--kernel", fx->kernel, "--mem", "-5", NULL), 2);
	assert_string_equal(first_line(fx->err),
			    "smartvm run: --mem: \"-5\" is not an integer from 1 to 4294967295");
	assert_int_equal(cli(fx, "stop", "vm1", "--timeout", "-1", NULL), 2);
	assert_string_equal(first_line(fx->err),
			    "smartvm stop: --timeout: \"-1\" is not a non-negative number of seconds");
}

static void test_bad_drive_spec_exits_2(void **state)
{
	fixture *fx = *state;
	assert_int_equal(cli(fx, "run", "--kernel", fx->kernel, "--drive", "id=data", NULL), 2);
	assert_string_equal(first_line(fx->err), "smartvm run: --drive \"id=data\": missing path=PATH");
	assert_int_equal(cli(fx, "run", "--kernel", fx->kernel, "--drive", "path=/x", NULL), 2);
	assert_string_equal(first_line(fx->err), "smartvm run: --drive \"path=/x\": missing id=ID");
	assert_int_equal(cli(fx, "run", "--kernel", fx->kernel, "--drive", "id=a,path=/x,rw", NULL), 2);
	assert_string_equal(first_line(fx->err),
			    "smartvm run: --drive \"id=a,path=/x,rw\": unknown item \"rw\" (expected "
			    "id=ID, path=PATH or ro)");
}

static void test_invalid_config_file_exits_2_naming_the_field(void **state)
{
	fixture *fx = *state;
	char json[1024];
	snprintf(json, sizeof(json),
		 "{\"boot-source\": {\"kernel_image_path\": \"%s\"},"
		 " \"machine-config\": {\"vcpu_count\": 0, \"mem_size_mib\": 128}}",
		 fx->kernel);
	char *path = svt_write(fx->tmp, "vm.json", json);
	assert_int_equal(cli(fx, "run", "--config", path, NULL), 2);
	assert_string_equal(fx->err,
			    "smartvm: machine_config.vcpu_count: must be between 1 and 32 (got 0)\n");
	assert_string_equal(fx->out, "");
	free(path);
}

static void test_config_file_with_unknown_key_exits_2(void **state)
{
	fixture *fx = *state;
	char json[1024];
	snprintf(json, sizeof(json),
		 "{\"boot-source\": {\"kernel_image_path\": \"%s\"},"
		 " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"turbo\": true}}",
		 fx->kernel);
	char *path = svt_write(fx->tmp, "vm.json", json);
	assert_int_equal(cli(fx, "run", "--config", path, NULL), 2);
	svt_assert_contains(fx->err, "machine-config.turbo");
	free(path);
}

static void test_missing_config_file_exits_2(void **state)
{
	fixture *fx = *state;
	char path[600];
	snprintf(path, sizeof(path), "%s/absent.json", fx->tmp);
	assert_int_equal(cli(fx, "run", "--config", path, NULL), 2);
	svt_assert_contains(fx->err, "smartvm: ");
	svt_assert_contains(fx->err, path);
}

/* Reading a FIFO would block until a writer came: refused at once. */
static void test_config_file_that_is_a_fifo_exits_2_at_once(void **state)
{
	fixture *fx = *state;
	char path[600];
	snprintf(path, sizeof(path), "%s/vm.json", fx->tmp);
	assert_int_equal(mkfifo(path, 0600), 0);
	long long t0 = sv_now_ms();
	assert_int_equal(cli(fx, "run", "--config", path, NULL), 2);
	assert_true(sv_now_ms() - t0 < 10000);
	char *want = NULL;
	assert_true(asprintf(&want, "smartvm: reading %s: not a regular file\n", path) > 0);
	assert_string_equal(fx->err, want);
	free(want);
}

static void test_flag_override_is_validated_too(void **state)
{
	fixture *fx = *state;
	assert_int_equal(cli(fx, "run", "--kernel", "/nonexistent/vmlinux", NULL), 2);
	assert_string_equal(fx->err,
			    "smartvm: boot_source.kernel_image_path: /nonexistent/vmlinux: no such file\n");
	assert_int_equal(
	    cli(fx, "run", "--kernel", fx->kernel, "--drive", "id=bad id,path=/etc/hostname", NULL), 2);
	svt_assert_contains(fx->err, "smartvm: drives[0].drive_id");
}

static void test_unknown_vm_id_exits_1(void **state)
{
	fixture *fx = *state;
	const char *by_id[] = {"inspect", "pause", "resume", "stop", "kill", "logs"};
	for (size_t i = 0; i < sizeof(by_id) / sizeof(by_id[0]); i++) {
		assert_int_equal(cli(fx, by_id[i], "nope", NULL), 1);
		assert_string_equal(fx->err, "smartvm: no VM with id \"nope\"\n");
		assert_string_equal(fx->out, "");
	}
}

static void test_missing_firecracker_binary_exits_1_and_leaves_nothing(void **state)
{
	fixture *fx = *state;
	assert_int_equal(cli(fx, "run", "--kernel", fx->kernel, "--id", "nofc", "--firecracker-bin",
			     "/nonexistent/firecracker", "--detach", NULL),
			 1);
	svt_assert_contains(fx->err, "smartvm: ");
	svt_assert_contains(fx->err, "/nonexistent/firecracker");
	assert_string_equal(fx->out, "");
}

static void test_ps_and_gc_on_an_empty_runtime_dir(void **state)
{
	fixture *fx = *state;
	assert_int_equal(cli(fx, "ps", NULL), 0);
	assert_string_equal(first_line(fx->out),
			    "ID                       STATE        PID      VMM          IP");
	assert_int_equal(cli(fx, "ps", "--json", NULL), 0);
	assert_string_equal(fx->out, "[]\n");
	assert_int_equal(cli(fx, "gc", NULL), 0);
	assert_string_equal(fx->out, "removed 0 dead VMs\n");
	assert_int_equal(cli(fx, "gc", "--json", NULL), 0);
	assert_string_equal(fx->out, "{\"removed\": 0}\n");
}

static void test_global_options_go_before_or_after_the_command(void **state)
{
	fixture *fx = *state;
	const char *before[] = {"--runtime-dir", fx->runtime_dir, "--json", "ps", NULL};
	char *out = NULL, *err = NULL;
	assert_int_equal(svt_run_cli(before, NULL, &out, &err), 0);
	assert_string_equal(out, "[]\n");
	free(out);
	free(err);
	assert_int_equal(cli(fx, "ps", "--json", NULL), 0);
	assert_string_equal(fx->out, "[]\n");
}

static void test_version_prints_the_library_version(void **state)
{
	fixture *fx = *state;
	char expected[64];
	assert_int_equal(cli(fx, "version", NULL), 0);
	snprintf(expected, sizeof(expected), "smartvm %s\n", sv_version());
	assert_string_equal(fx->out, expected);
	assert_int_equal(cli(fx, "version", "--json", NULL), 0);
	snprintf(expected, sizeof(expected), "{\"version\": \"%s\"}\n", sv_version());
	assert_string_equal(fx->out, expected);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_main_help_lists_every_command, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_command_help_mentions_every_flag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_help_command_prints_the_same_as_help_flag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_command_exits_2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_command_exits_2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_flag_exits_2_with_usage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flag_without_its_argument_exits_2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_or_extra_arguments_exit_2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_run_needs_config_or_kernel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_numbers_exit_2_naming_the_flag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_drive_spec_exits_2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_config_file_exits_2_naming_the_field, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_file_with_unknown_key_exits_2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_config_file_exits_2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_file_that_is_a_fifo_exits_2_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flag_override_is_validated_too, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_vm_id_exits_1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_firecracker_binary_exits_1_and_leaves_nothing, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ps_and_gc_on_an_empty_runtime_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_global_options_go_before_or_after_the_command, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_version_prints_the_library_version, setup, teardown),
	};
	return svt_run_group_name("cli_usage", tests, NULL, NULL);
}
