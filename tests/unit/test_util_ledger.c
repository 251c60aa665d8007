/* util/ledger: entries are undone newest first, missing resources are fine,
 * odd paths survive, and only the exact process recorded is ever killed. */
#include "svtest.h"

#include "util/error.h"
#include "util/file.h"
#include "util/ledger.h"
#include "util/spawn.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;
static char order[64];

static int setup(void **state)
{
	(void)state;
	dir = svt_tmpdir();
	order[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	svt_rm_tmpdir(dir);
	return 0;
}

static int record_order(const char *arg1, const char *arg2)
{
	(void)arg2;
	strncat(order, arg1, sizeof(order) - strlen(order) - 1);
	return 0;
}

static void test_replay_undoes_newest_first_and_removes_dir(void **state)
{
	(void)state;
	char *vm_dir = sv_path_join(dir, "vm");
	assert_int_equal(sv_mkdir_p(vm_dir, 0700), 0);
	sv_ledger_register("test-order", record_order);
	sv_ledger *l;
	assert_int_equal(sv_ledger_open(&l, vm_dir), 0);
	assert_int_equal(sv_ledger_record(l, "test-order", "a", NULL), 0);
	assert_int_equal(sv_ledger_record(l, "test-order", "b", NULL), 0);
	assert_int_equal(sv_ledger_record(l, "test-order", "c", NULL), 0);
	sv_ledger_close(l);
	assert_int_equal(sv_ledger_replay(vm_dir), 0);
	assert_string_equal(order, "cba");
	assert_false(sv_path_exists(vm_dir));
	assert_int_equal(sv_ledger_replay(vm_dir), 0); /* twice is fine */
	free(vm_dir);
}

static void test_paths_with_spaces_survive_the_ledger(void **state)
{
	(void)state;
	char *vm_dir = sv_path_join(dir, "vm");
	char *outside = sv_path_join(dir, "staged copy 100%.img");
	assert_int_equal(sv_mkdir_p(vm_dir, 0700), 0);
	free(svt_write(dir, "staged copy 100%.img", "x"));
	sv_ledger *l;
	assert_int_equal(sv_ledger_open(&l, vm_dir), 0);
	assert_int_equal(sv_ledger_record(l, "file", outside, NULL), 0);
	sv_ledger_close(l);
	assert_int_equal(sv_ledger_replay(vm_dir), 0);
	assert_false(sv_path_exists(outside));
	free(vm_dir);
	free(outside);
}

static void test_missing_resources_are_not_errors(void **state)
{
	(void)state;
	char *vm_dir = sv_path_join(dir, "vm");
	assert_int_equal(sv_mkdir_p(vm_dir, 0700), 0);
	sv_ledger *l;
	assert_int_equal(sv_ledger_open(&l, vm_dir), 0);
	assert_int_equal(sv_ledger_record(l, "file", "/nonexistent/smartvm-test", NULL), 0);
	assert_int_equal(sv_ledger_record(l, "dir", "/nonexistent/smartvm-dir", NULL), 0);
	assert_int_equal(sv_ledger_record(l, "pid", "999999999", "1"), 0);
	sv_ledger_close(l);
	assert_int_equal(sv_ledger_replay(vm_dir), 0);
	free(vm_dir);
}

static pid_t start_sleeper(void)
{
	const char *argv[] = { "sleep", "30", NULL };
	sv_spawn_opts so = { .argv = argv, .search_path = true, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1 };
	pid_t pid;
	assert_int_equal(sv_spawn(&so, &pid, NULL), 0);
	return pid;
}

static void test_pid_entry_kills_only_the_recorded_process(void **state)
{
	(void)state;
	char *vm_dir = sv_path_join(dir, "vm");
	assert_int_equal(sv_mkdir_p(vm_dir, 0700), 0);
	pid_t victim = start_sleeper(), bystander = start_sleeper();
	char vp[32], vs[32], bp[32];
	snprintf(vp, sizeof(vp), "%d", (int)victim);
	snprintf(vs, sizeof(vs), "%llu", sv_process_start_time(victim));
	snprintf(bp, sizeof(bp), "%d", (int)bystander);
	sv_ledger *l;
	assert_int_equal(sv_ledger_open(&l, vm_dir), 0);
	assert_int_equal(sv_ledger_record(l, "pid", vp, vs), 0);
	/* A wrong start time stands for a reused pid: must be left alone. */
	assert_int_equal(sv_ledger_record(l, "pid", bp, "1"), 0);
	sv_ledger_close(l);
	assert_int_equal(sv_ledger_replay(vm_dir), 0);
	int status;
	assert_int_equal(sv_reap(victim, 5000, &status), 0);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(sv_reap(bystander, 100, &status), SV_ETIMEOUT);
	kill(bystander, SIGKILL);
	assert_int_equal(sv_reap(bystander, 5000, &status), 0);
	free(vm_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_replay_undoes_newest_first_and_removes_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paths_with_spaces_survive_the_ledger, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_resources_are_not_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pid_entry_kills_only_the_recorded_process, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
