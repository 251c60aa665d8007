/* The Docker habits of the smartvm command line, on the fake Firecracker:
 * a VM started detached stays in `ps -a` with its exit status until `rm`;
 * `rm` refuses a live VM unless -f; `wait` prints the exit status (the
 * command's for `run -d -- CMD`), before and after the end; `logs --tail`;
 * stop/kill/rm print the ids they acted on; gc keeps end records but cleans
 * everything else; a killed supervisor leaves "ended (unknown status)";
 * every --json output has snake_case keys. */
#include "svtest.h"

#include "clifixture.h"
#include "leftovers.h"

#include "util/file.h"
#include "util/spawn.h"
#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAIT_MS 10000

typedef svt_cli_fixture fixture;

static int setup(void **state)
{
	*state = svt_cli_fixture_new();
	return 0;
}

/* Every test removes what it made: nothing may be left, not even an end
 * record (rm removes those). */
static int teardown(void **state)
{
	fixture *fx = *state;
	svt_scope scope = {.root = fx->tmp};
	char *left = svt_leftovers_settled(&scope, 5000);
	if (*left)
		for (pid_t pids[16], i = 0, n = svt_scope_processes(fx->tmp, pids, 16); i < n; i++)
			kill(pids[i], SIGKILL);
	int dirs = svt_dir_entries(fx->runtime_dir);
	char *tmp = svt_cli_fixture_free(fx);
	if (*left)
		fail_msg("left behind:\n%s", left);
	free(left);
	assert_int_equal(dirs, 0);
	svt_rm_tmpdir(tmp);
	return 0;
}

#define cli svt_cli_run
#define cli_env svt_cli_env
#define out_json svt_cli_json

/* `run --detach` (with env for the fake VMM, and an optional command). */
static void run_detached_env(fixture *fx, const char *id, const char *const *env, const char *cmd)
{
	/* The directories before "--": what follows it is the guest's. */
	int code = cmd ? cli_env(fx, env, "run", "--kernel", fx->kernel, "--rootfs", fx->rootfs, "--id", id,
				 "--firecracker-bin", svt_fake_firecracker(), "--detach", "--data-dir",
				 fx->data_dir, "--runtime-dir", fx->runtime_dir, "--", "sh", "-c", cmd, NULL)
		       : cli_env(fx, env, "run", "--kernel", fx->kernel, "--rootfs", fx->rootfs, "--id", id,
				 "--firecracker-bin", svt_fake_firecracker(), "--detach", NULL);
	if (code != 0)
		fail_msg("run exited %d: %s", code, fx->err);
	char expected[128];
	snprintf(expected, sizeof(expected), "%s\n", id);
	assert_string_equal(fx->out, expected);
}

static void run_detached(fixture *fx, const char *id) { run_detached_env(fx, id, NULL, NULL); }

/* The supervisor of this test's VM id (never another test's: the needle is
 * the VM's whole directory, which ends its command line). */
static pid_t supervisor_of(fixture *fx, const char *id)
{
	char dir[700];
	snprintf(dir, sizeof(dir), "%s/%s", fx->runtime_dir, id);
	pid_t pid = svt_find_process("smartvm-supervisor", dir);
	assert_true(pid > 0);
	return pid;
}

static json_t *ps_all_json(fixture *fx)
{
	assert_int_equal(cli(fx, "ps", "-a", "--json", NULL), 0);
	json_t *all = out_json(fx);
	assert_true(json_is_array(all));
	return all;
}

/* ps -a --json's entry for id (a new reference), or NULL. */
static json_t *ps_entry(fixture *fx, const char *id)
{
	json_t *all = ps_all_json(fx), *vm, *found = NULL;
	size_t i;
	json_array_foreach(all, i, vm) if (!strcmp(json_string_value(json_object_get(vm, "id")), id)) found =
	    json_incref(vm);
	json_decref(all);
	return found;
}

/* Fails on an object key with an upper-case letter: --json speaks
 * snake_case, like Firecracker's API. */
static void assert_snake_case_keys(json_t *v, const char *what)
{
	const char *key;
	json_t *item;
	size_t i;
	if (json_is_array(v))
		json_array_foreach(v, i, item) assert_snake_case_keys(item, what);
	if (!json_is_object(v))
		return;
	json_object_foreach(v, key, item)
	{
		for (const char *c = key; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				fail_msg("%s: the key \"%s\" is not snake_case", what, key);
		assert_snake_case_keys(item, what);
	}
}

static void test_ps_a_shows_an_ended_vm_with_its_status_until_rm(void **state)
{
	fixture *fx = *state;
	run_detached(fx, "web");
	assert_int_equal(cli(fx, "stop", "web", NULL), 0);
	assert_string_equal(fx->out, "web\n");

	/* Plain ps: live VMs only. */
	assert_int_equal(cli(fx, "ps", "--json", NULL), 0);
	assert_string_equal(fx->out, "[]\n");
	assert_int_equal(cli(fx, "ps", NULL), 0);
	assert_null(strstr(fx->out, "web"));

	json_t *vm = ps_entry(fx, "web");
	assert_non_null(vm);
	assert_string_equal(json_string_value(json_object_get(vm, "state")), "stopped");
	json_t *ended = json_object_get(vm, "ended");
	assert_true(json_is_object(ended));
	assert_int_equal(json_integer_value(json_object_get(ended, "exit_code")), 0);
	assert_string_equal(json_string_value(json_object_get(ended, "status")), "exited");
	char at[64];
	assert_non_null(json_string_value(json_object_get(ended, "ended_at")));
	snprintf(at, sizeof(at), "%s", json_string_value(json_object_get(ended, "ended_at")));
	assert_int_equal(strlen(at), strlen("2026-01-01T00:00:00.000Z"));
	svt_assert_contains(json_string_value(json_object_get(vm, "end_reason")), "after a stop request");
	json_decref(vm);

	assert_int_equal(cli(fx, "ps", "-a", NULL), 0);
	svt_assert_contains(fx->out,
			    "ID                       STATE        PID      VMM          IP              "
			    "EXIT           ENDED\n");
	svt_assert_contains(fx->out, at);
	svt_assert_contains(fx->out,
			    "web                      exited       -        firecracker  -               0 ");
	/* Its config and console stay with the record. */
	assert_int_equal(cli(fx, "inspect", "web", NULL), 0);
	svt_assert_contains(fx->out, "state: stopped\n");
	svt_assert_contains(fx->out, "ended.exit_code: 0\n");
	char line[600];
	snprintf(line, sizeof(line), "config.boot-source.kernel_image_path: %s\n", fx->kernel);
	svt_assert_contains(fx->out, line);
	assert_int_equal(cli(fx, "logs", "web", NULL), 0);
	svt_assert_contains(fx->out, "Successfully started microvm");

	assert_int_equal(cli(fx, "rm", "web", NULL), 0);
	assert_string_equal(fx->out, "web\n");
	assert_null(ps_entry(fx, "web"));
	assert_int_equal(cli(fx, "rm", "web", NULL), 1);
	assert_string_equal(fx->err, "smartvm: no VM with id \"web\"\n");
}

static void test_a_foreground_run_keeps_no_end_record(void **state)
{
	fixture *fx = *state;
	const char *env[] = {"FAKE_FC_GUEST_EXIT=5", NULL};
	assert_int_equal(cli_env(fx, env, "run", "--kernel", fx->kernel, "--id", "fg", "--firecracker-bin",
				 svt_fake_firecracker(), "--data-dir", fx->data_dir, "--runtime-dir",
				 fx->runtime_dir, "--", "sh", "-c", "exit 5", NULL),
			 5);
	assert_string_equal(fx->out, "fake guest command\n");
	assert_int_equal(svt_dir_entries(fx->runtime_dir), 0);
}

static void test_rm_refuses_a_running_vm_and_rm_f_kills_it(void **state)
{
	fixture *fx = *state;
	run_detached(fx, "live");
	assert_int_equal(cli(fx, "rm", "live", NULL), 1);
	assert_string_equal(fx->out, "");
	assert_string_equal(fx->err,
			    "smartvm: VM \"live\" is running; stop it first (smartvm stop live), or kill "
			    "and remove it at once with force (smartvm rm -f live)\n");
	json_t *vm = ps_entry(fx, "live");
	assert_string_equal(json_string_value(json_object_get(vm, "state")), "running");
	json_decref(vm);

	assert_int_equal(cli(fx, "rm", "-f", "live", NULL), 0);
	assert_string_equal(fx->out, "live\n");
	assert_int_equal(svt_dir_entries(fx->runtime_dir), 0);
	svt_assert_no_processes_with(fx->runtime_dir);
}

static void test_rm_f_removes_a_vm_whose_supervisor_is_gone(void **state)
{
	fixture *fx = *state;
	run_detached(fx, "gone");
	pid_t sup = supervisor_of(fx, "gone");
	assert_int_equal(kill(sup, SIGKILL), 0);
	assert_true(svt_wait_exited(sup, 10000)); /* its lock released */
	for (int i = 0; i < 500 && svt_count_processes_with(fx->runtime_dir) > 0; i++)
		usleep(20000);
	json_t *vm = ps_entry(fx, "gone");
	assert_string_equal(json_string_value(json_object_get(vm, "state")), "error");
	json_decref(vm);
	/* Dead already: rm alone cleans it up. */
	assert_int_equal(cli(fx, "rm", "gone", NULL), 0);
	assert_string_equal(fx->out, "gone\n");
	assert_int_equal(svt_dir_entries(fx->runtime_dir), 0);
}

static void test_wait_prints_the_status_of_a_detached_command(void **state)
{
	fixture *fx = *state;
	const char *env[] = {"FAKE_FC_GUEST_EXIT=7", "FAKE_FC_GUEST_EXIT_MS=1500", NULL};
	run_detached_env(fx, "job", env, "exit 7");
	json_t *vm = ps_entry(fx, "job");
	assert_string_equal(json_string_value(json_object_get(vm, "state")), "running");
	json_decref(vm);

	/* Still running: wait blocks until it ends. */
	assert_int_equal(cli(fx, "wait", "job", NULL), 0);
	assert_string_equal(fx->out, "7\n");
	/* Ended: from the end record, as often as asked. */
	assert_int_equal(cli(fx, "wait", "job", NULL), 0);
	assert_string_equal(fx->out, "7\n");
	assert_int_equal(cli(fx, "wait", "job", "--json", NULL), 0);
	json_t *all = out_json(fx);
	assert_int_equal(json_array_size(all), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(all, 0), "id")), "job");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(all, 0), "exit_code")), 7);
	json_decref(all);

	vm = ps_entry(fx, "job");
	json_t *ended = json_object_get(vm, "ended");
	assert_true(json_is_true(json_object_get(ended, "command_finished")));
	json_t *cmd = json_object_get(ended, "command");
	assert_true(json_array_size(cmd) >= 3);
	assert_string_equal(json_string_value(json_array_get(cmd, 0)), "sh");
	assert_string_equal(json_string_value(json_array_get(cmd, 2)), "exit 7");
	json_decref(vm);
	assert_int_equal(cli(fx, "ps", "-a", NULL), 0);
	svt_assert_contains(fx->out,
			    "job                      exited       -        firecracker  -               7 ");

	/* An unknown id: exit 1, the others still printed. */
	assert_int_equal(cli(fx, "wait", "nope", "job", NULL), 1);
	assert_string_equal(fx->out, "7\n");
	assert_string_equal(fx->err, "smartvm: no VM with id \"nope\"\n");
	assert_int_equal(cli(fx, "rm", "job", NULL), 0);
}

static void test_wait_on_a_killed_vm_prints_128_plus_the_signal(void **state)
{
	fixture *fx = *state;
	run_detached(fx, "k");
	/* The VMM dies of SIGKILL under its supervisor, which records that. */
	json_t *vm = ps_entry(fx, "k");
	pid_t vmm = (pid_t)json_integer_value(json_object_get(vm, "pid"));
	json_decref(vm);
	assert_true(vmm > 0);
	assert_int_equal(kill(vmm, SIGKILL), 0);
	assert_int_equal(cli(fx, "wait", "k", NULL), 0);
	assert_string_equal(fx->out, "137\n");
	vm = ps_entry(fx, "k");
	assert_string_equal(json_string_value(json_object_get(json_object_get(vm, "ended"), "signal")),
			    "SIGKILL");
	json_decref(vm);
	assert_int_equal(cli(fx, "ps", "-a", NULL), 0);
	svt_assert_contains(fx->out, " 137 (SIGKILL) ");
	assert_int_equal(cli(fx, "rm", "k", NULL), 0);
}

static void test_logs_tail_prints_the_last_lines(void **state)
{
	fixture *fx = *state;
	run_detached(fx, "t");
	assert_int_equal(cli(fx, "stop", "t", NULL), 0);
	char *path = sv_path_join(fx->runtime_dir, "t/console.log"), *text = NULL;
	assert_int_equal(sv_read_file(path, 1 << 20, &text, NULL), 0);
	free(path);
	/* The console's last two lines, exactly. */
	size_t len = strlen(text);
	assert_true(len > 0 && text[len - 1] == '\n');
	const char *from = text + len - 1;
	for (int lines = 0; from > text; from--)
		if (from[-1] == '\n' && ++lines == 2)
			break;
	assert_int_equal(cli(fx, "logs", "--tail", "2", "t", NULL), 0);
	assert_string_equal(fx->out, from);
	assert_int_equal(cli(fx, "logs", "-n", "2", "t", NULL), 0);
	assert_string_equal(fx->out, from);
	assert_int_equal(cli(fx, "logs", "-n", "0", "t", NULL), 0);
	assert_string_equal(fx->out, "");
	assert_int_equal(cli(fx, "logs", "-n", "100000", "t", NULL), 0);
	assert_string_equal(fx->out, text);
	/* With -f: from the last line on, until the (ended) VM is seen to have ended. */
	assert_int_equal(cli(fx, "logs", "-f", "-n", "1", "t", NULL), 0);
	assert_string_equal(fx->out, strchr(from, '\n') + 1); /* the last of the two lines */
	assert_int_equal(cli(fx, "logs", "-n", "-1", "t", NULL), 2);
	svt_assert_contains(fx->err, "smartvm logs: --tail: \"-1\" is not an integer from 0 to");
	free(text);
	assert_int_equal(cli(fx, "rm", "t", NULL), 0);
}

static void test_stop_kill_and_rm_print_the_ids_they_acted_on(void **state)
{
	fixture *fx = *state;
	run_detached(fx, "a");
	run_detached(fx, "b");
	run_detached(fx, "c");
	assert_int_equal(cli(fx, "stop", "a", "b", NULL), 0);
	assert_string_equal(fx->out, "a\nb\n");
	assert_int_equal(cli(fx, "kill", "c", "--json", NULL), 0);
	json_t *ids = out_json(fx);
	assert_int_equal(json_array_size(ids), 1);
	assert_string_equal(json_string_value(json_array_get(ids, 0)), "c");
	json_decref(ids);
	/* One that cannot be acted on: the others are, exit 1. */
	assert_int_equal(cli(fx, "rm", "a", "nope", "b", NULL), 1);
	assert_string_equal(fx->out, "a\nb\n");
	assert_string_equal(fx->err, "smartvm: no VM with id \"nope\"\n");
	assert_int_equal(cli(fx, "rm", "c", "--json", NULL), 0);
	assert_string_equal(fx->out, "[\n  \"c\"\n]\n");
}

static void test_an_ended_vms_id_is_in_use_until_rm(void **state)
{
	fixture *fx = *state;
	run_detached(fx, "x");
	assert_int_equal(cli(fx, "kill", "x", NULL), 0);
	assert_int_equal(cli(fx, "run", "--kernel", fx->kernel, "--id", "x", "--firecracker-bin",
			     svt_fake_firecracker(), "--detach", NULL),
			 1);
	assert_string_equal(fx->err,
			    "smartvm: id: the id \"x\" is in use by an ended VM, kept until it is removed; "
			    "remove it first (smartvm rm x)\n");
	assert_int_equal(cli(fx, "rm", "x", NULL), 0);
	run_detached(fx, "x");
	assert_int_equal(cli(fx, "rm", "-f", "x", NULL), 0);
}

static void test_kill_and_stop_end_a_vm_in_error(void **state)
{
	fixture *fx = *state;
	const char *ids[] = {"e1", "e2"};
	for (size_t i = 0; i < 2; i++) {
		run_detached(fx, ids[i]);
		pid_t sup = supervisor_of(fx, ids[i]);
		assert_int_equal(kill(sup, SIGKILL), 0);
		assert_true(svt_wait_exited(sup, 10000)); /* its lock released */
	}
	for (int i = 0; i < 500 && svt_count_processes_with(fx->runtime_dir) > 0; i++)
		usleep(20000);
	assert_int_equal(cli(fx, "inspect", "e1", "--json", NULL), 0);
	svt_assert_contains(fx->out, "\"state\": \"error\"");
	assert_int_equal(cli(fx, "kill", "e1", NULL), 0);
	assert_string_equal(fx->out, "e1\n");
	assert_int_equal(cli(fx, "stop", "e2", NULL), 0);
	assert_string_equal(fx->out, "e2\n");
	/* Both were detached: their end says it is unknown how they ended. */
	for (size_t i = 0; i < 2; i++) {
		assert_true(svt_is_end_record_dir(fx->runtime_dir, ids[i]));
		json_t *vm = ps_entry(fx, ids[i]);
		json_t *ended = json_object_get(vm, "ended");
		assert_string_equal(json_string_value(json_object_get(ended, "status")), "unknown");
		assert_true(json_is_null(json_object_get(ended, "exit_code")));
		json_decref(vm);
	}
	assert_int_equal(cli(fx, "rm", "e1", "e2", NULL), 0);
}

/* A supervisor SIGKILLed in the middle: ps -a says the VM is in error
 * (what it left is still there), wait says "ended (unknown status)"; gc
 * cleans everything up but an end record saying the same, and keeps the
 * end records of VMs that ended normally, byte for byte. */
static void test_gc_keeps_end_records_and_cleans_up_everything_else(void **state)
{
	fixture *fx = *state;
	run_detached(fx, "kept");
	assert_int_equal(cli(fx, "stop", "kept", NULL), 0);
	char *record_path = sv_path_join(fx->runtime_dir, "kept/ended.json"), *before = NULL, *after = NULL;
	assert_int_equal(sv_read_file(record_path, 1 << 20, &before, NULL), 0);

	run_detached(fx, "crashed");
	pid_t sup = supervisor_of(fx, "crashed");
	assert_int_equal(kill(sup, SIGKILL), 0);
	assert_true(svt_wait_exited(sup, 10000)); /* its lock released */
	for (int i = 0; i < 500 && svt_count_processes_with(fx->runtime_dir) > 0; i++)
		usleep(20000);
	assert_false(svt_is_end_record_dir(fx->runtime_dir, "crashed")); /* its leftovers are there */
	assert_int_equal(cli(fx, "wait", "crashed", NULL), 1);
	svt_assert_contains(fx->err,
			    "smartvm: VM \"crashed\" ended (unknown status): its supervisor is gone");

	assert_int_equal(cli(fx, "gc", NULL), 0);
	assert_string_equal(fx->out, "removed 1 dead VM\n");
	assert_int_equal(cli(fx, "gc", NULL), 0);
	assert_string_equal(fx->out, "removed 0 dead VMs\n"); /* end records are not dead VMs */
	assert_int_equal(sv_read_file(record_path, 1 << 20, &after, NULL), 0);
	assert_string_equal(before, after);
	assert_true(svt_is_end_record_dir(fx->runtime_dir, "kept"));
	assert_true(svt_is_end_record_dir(fx->runtime_dir, "crashed"));
	svt_scope scope = {.root = fx->tmp, .runtime_dir = fx->runtime_dir, .data_dir = fx->data_dir};
	char *left = svt_leftovers_settled(&scope, 5000);
	assert_string_equal(left, "");
	free(left);

	assert_int_equal(cli(fx, "wait", "crashed", NULL), 1);
	assert_string_equal(fx->err,
			    "smartvm: VM \"crashed\" ended (unknown status): its supervisor was killed "
			    "before it could record how the VM ended\n");
	assert_int_equal(cli(fx, "ps", "-a", NULL), 0);
	svt_assert_contains(
	    fx->out, "crashed                  exited       -        firecracker  -               unknown ");
	assert_int_equal(cli(fx, "rm", "kept", "crashed", NULL), 0);
	free(record_path);
	free(before);
	free(after);
}

static void test_run_json_without_detach_is_a_usage_error(void **state)
{
	fixture *fx = *state;
	assert_int_equal(cli(fx, "run", "--kernel", fx->kernel, "--json", NULL), 2);
	svt_assert_contains(fx->err, "smartvm run: --json needs --detach");
	assert_int_equal(svt_dir_entries(fx->runtime_dir), 0);
}

/* Every --json output of the VM commands, parsed, with snake_case keys
 * only (image --json: test_images_cli). */
static void test_every_json_output_has_snake_case_keys(void **state)
{
	fixture *fx = *state;
	const char *env[] = {"FAKE_FC_GUEST_EXIT=0", NULL};
	assert_int_equal(cli(fx, "run", "--kernel", fx->kernel, "--rootfs", fx->rootfs, "--id", "j",
			     "--firecracker-bin", svt_fake_firecracker(), "--detach", "--json", NULL),
			 0);
	json_t *v = out_json(fx);
	assert_snake_case_keys(v, "run --detach --json");
	json_decref(v);
	run_detached_env(fx, "cmd", env, "true");

	char snap[600];
	snprintf(snap, sizeof(snap), "%s/snap", fx->tmp);
	const char *const cmds[][6] = {
	    {"snapshot", "create", "j", snap, "--json", NULL},
	    {"ps", "--json", NULL},
	    {"ps", "-a", "--json", NULL},
	    {"inspect", "j", "--json", NULL},
	    {"wait", "cmd", "--json", NULL},
	    {"inspect", "cmd", "--json", NULL},
	    {"stop", "j", "--json", NULL},
	    {"ps", "-a", "--json", NULL},
	    {"inspect", "j", "--json", NULL},
	    {"gc", "--json", NULL},
	    {"version", "--json", NULL},
	    {"image", "ls", "--json", NULL},
	    {"net", "ls", "--json", NULL},
	    {"rm", "j", "cmd", "--json", NULL},
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *const *c = cmds[i];
		int code = cli(fx, c[0], c[1], c[2], c[3], c[4], NULL);
		if (code != 0)
			fail_msg("%s %s exited %d: %s", c[0], c[1], code, fx->err);
		v = out_json(fx);
		char what[128];
		snprintf(what, sizeof(what), "%s %s %s", c[0], c[1], c[2] ? c[2] : "");
		assert_snake_case_keys(v, what);
		json_decref(v);
	}
	assert_int_equal(sv_rm_rf(snap), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ps_a_shows_an_ended_vm_with_its_status_until_rm, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_a_foreground_run_keeps_no_end_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rm_refuses_a_running_vm_and_rm_f_kills_it, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rm_f_removes_a_vm_whose_supervisor_is_gone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wait_prints_the_status_of_a_detached_command, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_wait_on_a_killed_vm_prints_128_plus_the_signal, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_logs_tail_prints_the_last_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_kill_and_rm_print_the_ids_they_acted_on, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_an_ended_vms_id_is_in_use_until_rm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill_and_stop_end_a_vm_in_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gc_keeps_end_records_and_cleans_up_everything_else, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_run_json_without_detach_is_a_usage_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_json_output_has_snake_case_keys, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
